/**
 * `createServer(options)`: the HTTP face of a SessionStore. The server only translates —
 * routes to store calls, errors to responses (in `errors.ts`), tenant from the request (in
 * `tenant.ts`) — so the gateway and security work plug in without rewriting it.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { TurnEngine } from "../engine/turn/turn-engine.ts";
import type { LoggingServerOptions } from "../observability/logging.ts";
import type { RateLimiter } from "../security/rate-limit/limiter.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import { type AuthResolverOptions, createAuthResolver } from "./auth.ts";
import { handleClientError, handleError } from "./errors.ts";
import { registerInFlight } from "./in-flight.ts";
import { registerIncludeCheck } from "./include-query.ts";
import { registerUnmatchedHandler } from "./method-not-allowed.ts";
import { registerOwnerScope } from "./owner-scope.ts";
import { registerRateLimits } from "./rate-limit.ts";
import { registerResponseHeaders } from "./response-headers.ts";
import { type CleanupRouteDeps, registerCleanupRoutes } from "./routes/admin-cleanup.ts";
import { registerAdminKeyRoutes } from "./routes/admin-keys.ts";
import { registerChatCompletionRoutes } from "./routes/chat-completions.ts";
import { registerConversationRoutes } from "./routes/conversations.ts";
import { registerExtensionRoutes } from "./routes/extensions.ts";
import { type ReadinessCheck, registerHealthRoutes } from "./routes/health.ts";
import { registerItemRoutes } from "./routes/items.ts";
import { registerModelRoutes, type ServedModel } from "./routes/models.ts";
import { registerResponseRoutes } from "./routes/responses.ts";
import { registerTokenRoutes } from "./routes/tokens.ts";
import { defaultTenantResolver, registerTenantResolution, type TenantResolver } from "./tenant.ts";

export interface ServerOptions {
  /** The store every route reads and writes. The caller owns it: closing the server does not close it. */
  store: SessionStore;
  /** Largest accepted request body in bytes; larger bodies get 413. Default 1 MiB. */
  bodyLimit?: number;
  /**
   * Fastify's `trustProxy`: `true` (every hop), a hop count, or trusted proxy addresses/CIDRs
   * (comma-separated or a list). Then `X-Forwarded-For` gives `request.ip` (the dashboard's
   * sign-in limit) and `X-Forwarded-Proto` the protocol. Default off: the socket's peer.
   */
  trustProxy?: boolean | number | string | string[];
  /** Picks the tenant of each request. Default: every request is tenant `default`. */
  resolveTenant?: TenantResolver;
  /** Fastify/pino logger option. Default `false` (silent), so tests and embedders stay quiet. */
  logger?: FastifyServerOptions["logger"];
  /** Structured logging (request ids, redaction): `loggingOptions()` from observability; replaces `logger`. */
  logging?: LoggingServerOptions;
  /** The stateful gateway: `/v1/responses`, `/v1/chat/completions`, `/v1/models`. Absent: session API only. */
  gateway?: GatewayRoutesOptions;
  /**
   * Authentication (API keys, access tokens, OIDC), scopes, end-user owner checks and rate
   * limits. Replaces `resolveTenant`. Absent: every request is tenant `default` (tests, embedding).
   */
  security?: SecurityRoutesOptions;
  /** The lifecycle sweeper and archiver: admin cleanup routes and `POST …/restore`. */
  lifecycle?: CleanupRouteDeps;
  /** Dependencies `/readyz` requires besides the store (the rate-limit Redis). */
  readiness?: readonly ReadinessCheck[];
}

export interface SecurityRoutesOptions extends AuthResolverOptions {
  limiter?: RateLimiter;
}

export interface GatewayRoutesOptions {
  engine: TurnEngine;
  /** The models `/v1/models` lists. */
  models: () => readonly ServedModel[];
}

export const DEFAULT_BODY_LIMIT = 1 << 20;
const MAX_BODY_LIMIT = 1 << 30;

function checkOptions(
  options: ServerOptions,
): Readonly<
  Required<
    Omit<
      ServerOptions,
      "logger" | "logging" | "gateway" | "security" | "lifecycle" | "trustProxy" | "readiness"
    >
  >
> {
  if (typeof options !== "object" || options === null)
    throw new InvalidArgumentError("Server options are required.");
  const store = options.store;
  if (typeof store !== "object" || store === null || typeof store.get !== "function") {
    throw new InvalidArgumentError("options.store must be a SessionStore (see createStore).", {
      param: "store",
    });
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1024 || bodyLimit > MAX_BODY_LIMIT) {
    throw new InvalidArgumentError(
      `options.bodyLimit must be an integer from 1024 to ${MAX_BODY_LIMIT} bytes.`,
      {
        param: "bodyLimit",
      },
    );
  }
  const resolveTenant = options.resolveTenant ?? defaultTenantResolver;
  if (typeof resolveTenant !== "function") {
    throw new InvalidArgumentError("options.resolveTenant must be a function.", { param: "resolveTenant" });
  }
  return Object.freeze({ store, bodyLimit, resolveTenant });
}

/**
 * Fastify's `trustProxy`, with a hop count as Express reads one (the nearest `hops` proxies are
 * trusted): Fastify 5 treats a number as "trust nothing", so it is given as a function.
 */
function trustProxyOption(
  value: boolean | number | string | string[],
): boolean | string | string[] | ((address: string, hop: number) => boolean) {
  if (typeof value !== "number") return value;
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError("options.trustProxy as a hop count must be a whole number.", {
      param: "trustProxy",
    });
  }
  return (_address, hop) => hop < value;
}

/**
 * Builds the Fastify app with every route registered. It is not yet `ready()`, so callers (the
 * gateway, tests) may register more routes before `listen()` or `inject()`.
 */
export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const config = checkOptions(options);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.bodyLimit,
    ...(options.trustProxy === undefined ? {} : { trustProxy: trustProxyOption(options.trustProxy) }),
    // One log line per request is the observability layer's job (metrics, traces), not the access log's.
    logController: new LogController({ disableRequestLogging: true }),
    // A client gets 30 s to send its whole request: slow-body (slowloris) senders are cut off.
    requestTimeout: 30_000,
    // Ids and cursors are short; a long URL is hostile or broken.
    routerOptions: { maxParamLength: 256 },
    // Bad URLs and over-long ids are rejected before routing; they get the same error body.
    frameworkErrors: handleError,
    clientErrorHandler: handleClientError,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // Bodies are validated strictly (no coercion, unknown fields rejected); queries are matched as strings.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allowUnionTypes: true } },
    ...options.logging,
  });
  app.setErrorHandler(handleError);
  registerResponseHeaders(app);
  registerUnmatchedHandler(app);
  registerIncludeCheck(app);
  // RFC 7396 bodies are JSON; parse them with the same hardened parser (no __proto__ pollution).
  app.addContentTypeParser(
    "application/merge-patch+json",
    { parseAs: "string", bodyLimit: config.bodyLimit },
    app.getDefaultJsonParser("error", "error"),
  );
  // OpenAI's reference shows DELETE as `curl -X DELETE … -H "Content-Type: application/json"`
  // with no body. There is nothing to parse, so the header is dropped before Fastify would refuse
  // the empty body as invalid JSON. (A POST so sent stays `invalid_json`: it claims a body.)
  app.addHook("onRequest", (request, _reply, done) => {
    const headers = request.raw.headers;
    const empty =
      headers["transfer-encoding"] === undefined &&
      (headers["content-length"] === undefined || headers["content-length"] === "0");
    if (request.method === "DELETE" && empty) delete headers["content-type"];
    done();
  });
  // A POST without a body (fork, create) means "no fields", as in OpenAI's API.
  app.addHook("preValidation", (request, _reply, done) => {
    if (request.body === undefined && (request.method === "POST" || request.method === "PATCH")) {
      request.body = {};
    }
    done();
  });
  app.decorateRequest("principal", null);
  app.decorateRequest("reservation", null);
  registerTenantResolution(
    app,
    options.security ? createAuthResolver(options.security) : config.resolveTenant,
  );
  if (options.security) {
    registerOwnerScope(app, config.store);
    registerTokenRoutes(app, options.security.security);
    registerAdminKeyRoutes(app, options.security.security);
    if (options.security.limiter) registerRateLimits(app, options.security.limiter);
  }
  registerHealthRoutes(app, config.store, options.readiness);
  registerConversationRoutes(app, config.store);
  registerItemRoutes(app, config.store);
  registerExtensionRoutes(app, config.store);
  if (options.lifecycle) registerCleanupRoutes(app, options.lifecycle);
  const inFlight = registerInFlight(app);
  if (options.gateway) {
    registerResponseRoutes(app, config.store, options.gateway.engine, inFlight);
    registerChatCompletionRoutes(app, options.gateway.engine, inFlight);
    registerModelRoutes(app, options.gateway.models);
  }
  return app;
}
