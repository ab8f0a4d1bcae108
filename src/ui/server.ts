/**
 * `registerDashboard(app, options)`: the dashboard at `/ui` — the prebuilt SPA, sign-in with the
 * admin key, and the JSON API it reads under `/ui/api/**`. Its routes skip the API's tenant
 * resolution (`public`) and use their own cookie session; state-changing routes also need the
 * CSRF token. Without an admin key the dashboard runs in dev mode only when bound to loopback.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Summarizer } from "../engine/context/compact.ts";
import type { ArchivedItemsReader } from "../lifecycle/archive-peek.ts";
import type { HoldfastMetrics } from "../observability/create-metrics.ts";
import { HoldfastError, InvalidArgumentError } from "../store/errors.ts";
import type { Session, SessionStore } from "../store/types.ts";
import { registerDashboardApi } from "./api.ts";
import {
  CSRF_HEADER,
  createSignInLimiter,
  createUiAuth,
  isLoopback,
  safeEqual,
  type UiAuth,
} from "./auth.ts";
import { bodyObject } from "./body.ts";
import { type DashboardSweeper, registerCleanupApi } from "./cleanup-api.ts";
import { loadStaticFiles } from "./static-files.ts";
import type { BreakerSource } from "./upstreams.ts";

export interface DashboardOptions {
  store: SessionStore;
  /** Admin key for sign-in. Default: env `HOLDFAST_ADMIN_KEY`. */
  adminKey?: string;
  /** The address the server listens on; without an admin key the dashboard works only on loopback. */
  host?: string;
  /** Tenants the dashboard offers. Default `["default"]`. */
  tenants?: () => readonly string[] | Promise<readonly string[]>;
  /** Metrics for the Upstreams view (latency percentiles). */
  metrics?: HoldfastMetrics;
  /** Breaker states for the Upstreams view (the provider router). */
  upstreams?: BreakerSource;
  /**
   * Reads an archived session's items from its archive without restoring it (lifecycle
   * `archivedItemsReader`), so Usage counts archived sessions and the Sessions model filter checks
   * them; absent: Usage leaves them out and says how many, and the model filter does not match them.
   */
  archivedItems?: ArchivedItemsReader;
  /**
   * Reads a session's record as stored, without restoring an archived one (the store under
   * `withArchives`), for the Sessions view's id search; absent: the search reads through `store`,
   * which restores an archived session.
   */
  peekSession?: (tenant: string, id: string) => Promise<Session>;
  /** The lifecycle sweeper (Cleanup view: dry-run plan, enforce); absent: the view says so. */
  sweeper?: DashboardSweeper;
  /** Summarizer for the session view's Compact button. Default: the built-in deterministic one (as the CLI). */
  summarize?: Summarizer;
  /** Folder of the built SPA. Default `<package>/ui/dist`. */
  distDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export const DEFAULT_DIST_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "ui", "dist");

const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
});

/** What the API routes need from the sign-in layer. */
export interface DashboardGuard {
  auth: UiAuth;
  /** Throws `unauthenticated` unless the request carries a valid session (and CSRF token when `write`). */
  require(request: FastifyRequest, write: boolean): void;
}

function checkOptions(options: DashboardOptions): { adminKey: string | null; disabledReason: string | null } {
  if (typeof options?.store?.list !== "function") {
    throw new InvalidArgumentError("options.store must be a SessionStore.", { param: "store" });
  }
  const key = options.adminKey ?? (options.env ?? process.env).HOLDFAST_ADMIN_KEY ?? null;
  if (key !== null && (typeof key !== "string" || key.length < 16)) {
    throw new InvalidArgumentError(
      "options.adminKey (or HOLDFAST_ADMIN_KEY) must be at least 16 characters.",
      {
        param: "adminKey",
      },
    );
  }
  const disabledReason =
    key === null && !isLoopback(options.host)
      ? "Set HOLDFAST_ADMIN_KEY (or the adminKey option) to use the dashboard on a non-loopback address."
      : null;
  return { adminKey: key, disabledReason };
}

/** Registers `/ui` (SPA) and `/ui/api/**` on `app`. */
export function registerDashboard(app: FastifyInstance, options: DashboardOptions): void {
  const { adminKey, disabledReason } = checkOptions(options);
  const auth = createUiAuth({ adminKey });
  const signIns = createSignInLimiter();
  const files = loadStaticFiles(options.distDir ?? DEFAULT_DIST_DIR);
  const guard: DashboardGuard = {
    auth,
    require(request, write) {
      if (disabledReason) throw new HoldfastError("unavailable", disabledReason);
      const csrf = auth.session(request);
      if (csrf === null) throw new HoldfastError("unauthenticated", "Sign in to the dashboard first.");
      const sent = request.headers[CSRF_HEADER];
      if (write && (typeof sent !== "string" || !safeEqual(sent, csrf))) {
        throw new HoldfastError("permission_denied", `Missing or wrong ${CSRF_HEADER} header.`);
      }
    },
  };
  const config = { public: true };

  app.register(async (ui) => {
    ui.addHook("onSend", async (request, reply, payload) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
      // API answers carry transcripts, metadata and the CSRF token: no browser or proxy may keep
      // them (errors and exports too). Only the static files set their own cache policy.
      if (request.url.startsWith("/ui/api/")) {
        reply.header("cache-control", "no-store");
      }
      return payload;
    });

    // Every dashboard query parameter is one string: a repeated one (`?q=a&q=b`) arrives as an
    // array, which the routes would call string methods on (a 500) or pass on to the store.
    ui.addHook("preValidation", async (request) => {
      if (!request.url.startsWith("/ui/api/")) return;
      for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
        if (typeof value !== "string") {
          throw new InvalidArgumentError(`Query parameter '${name.slice(0, 64)}' must be given once.`, {
            param: name.slice(0, 64),
          });
        }
      }
    });

    ui.get("/ui/api/session", { config }, async (request, reply) => {
      if (disabledReason) return { signedIn: false, devMode: false, disabled: disabledReason };
      let csrf = auth.session(request);
      // Dev mode signs in on first visit: there is no key to ask for.
      if (csrf === null && auth.devMode) csrf = auth.issue(request, reply);
      return { signedIn: csrf !== null, devMode: auth.devMode, csrfToken: csrf, disabled: null };
    });
    ui.post("/ui/api/session", { config }, async (request, reply) => {
      if (disabledReason) throw new HoldfastError("unavailable", disabledReason);
      // Dev mode has no key to guess; with one, each address may fail a few times a minute.
      // A body that is no sign-in at all is a 400 that does not count as a failed attempt.
      const { key } = bodyObject(request.body, ["key"]);
      if (!auth.devMode && typeof key !== "string") {
        throw new InvalidArgumentError('The body must be {"key": "<admin key>"}.', { param: "key" });
      }
      const succeeded = auth.devMode ? null : await signIns.attempt(request.ip);
      if (!auth.checkKey(key)) throw new HoldfastError("unauthenticated", "Wrong admin key.");
      await succeeded?.();
      return { signedIn: true, devMode: auth.devMode, csrfToken: auth.issue(request, reply), disabled: null };
    });
    ui.delete("/ui/api/session", { config }, async (request, reply) => {
      // Signing out always clears the cookie, even an expired or revoked one (refusing left it in
      // the browser); a live session also needs its CSRF token, so no other site can end it.
      if (auth.session(request) !== null) guard.require(request, true);
      auth.revoke(request, reply);
      return { signedIn: false };
    });
    registerDashboardApi(ui, { ...options, guard });
    registerCleanupApi(ui, { ...options, guard });

    ui.get("/ui", { config }, async (_request, reply) => reply.redirect("/ui/", 302));
    ui.get("/ui/*", { config }, async (request, reply) => serveFile(files, request, reply));
  });
}

function serveFile(
  files: ReturnType<typeof loadStaticFiles>,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const path = (request.params as { "*": string })["*"] ?? "";
  if (path.startsWith("api/")) throw new HoldfastError("not_found", `No dashboard API route ${request.url}.`);
  // Unknown paths that are not assets get the SPA shell (client-side routes).
  const file = files.get(path) ?? (path.startsWith("assets/") ? undefined : files.get("index.html"));
  if (!file) {
    if (files.size === 0) {
      throw new HoldfastError("unavailable", "The dashboard is not built: run `npm run build:ui`.");
    }
    throw new HoldfastError("not_found", `No dashboard file ${request.url}.`);
  }
  return reply.type(file.type).header("cache-control", file.cacheControl).send(file.body);
}
