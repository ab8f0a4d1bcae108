/**
 * The dashboard's JSON API under `/ui/api/**`: sessions (list, one session with its transcript,
 * window and turns, its forks, export, fork, compact, delete), usage, upstreams and the cleanup plan. Every route
 * needs a dashboard session; writes need the CSRF token too. Store errors reach the app's one
 * error handler unchanged.
 */
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { exportChunks } from "../interop/portable/export.ts";
import { InvalidArgumentError, NotFoundError } from "../store/errors.ts";
import { SESSION_ID_PATTERN } from "../store/ids.ts";
import type { Session } from "../store/types.ts";
import { bodyObject } from "./body.ts";
import { compactSession } from "./compact.ts";
import type { DashboardGuard, DashboardOptions } from "./server.ts";
import { intParam, listForDashboard, listQueryOf, type Query } from "./session-list.ts";
import { loadTranscript } from "./transcript-page.ts";
import { upstreamHealth } from "./upstreams.ts";
import { collectUsage } from "./usage.ts";
import { previewWindow } from "./window-preview.ts";

const DEFAULT_TENANTS = ["default"] as const;
// Every id the store accepts, not only the ones it generates: adapters and imports give ids
// such as `conv_h_<sha256>` or `conv_<framework id>`, and those sessions must open too.
const SESSION_ID = SESSION_ID_PATTERN;

/** The tenants the dashboard offers. */
export async function tenantsOf(options: DashboardOptions): Promise<readonly string[]> {
  return options.tenants ? await options.tenants() : DEFAULT_TENANTS;
}

/** The `tenant` query parameter (default `default`), which must be one of the offered tenants. */
export async function tenantOfRequest(options: DashboardOptions, request: FastifyRequest): Promise<string> {
  const tenant = (request.query as Query).tenant ?? "default";
  if (!(await tenantsOf(options)).includes(tenant)) {
    throw new InvalidArgumentError(`Unknown tenant '${tenant.slice(0, 64)}'.`, { param: "tenant" });
  }
  return tenant;
}

/** The row the Sessions view shows: no state, no metadata values beyond what a list needs. */
function sessionRow(s: Session): Record<string, unknown> {
  return {
    id: s.id,
    owner: s.owner,
    labels: s.labels,
    status: s.status,
    pinned: s.pinned,
    itemCount: s.itemCount,
    tokenCount: s.tokenCount,
    bytes: s.bytes,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    lastActiveAt: s.lastActiveAt,
    forkParent: s.forkParent,
    expiresAt: s.expiresAt,
    idleTtlMs: s.idleTtlMs,
  };
}

/** Registers the data routes on the dashboard's encapsulated instance. */
export function registerDashboardApi(
  ui: FastifyInstance,
  options: DashboardOptions & { guard: DashboardGuard },
): void {
  const { store, guard } = options;
  const config = { public: true };
  const tenants = (): Promise<readonly string[]> => tenantsOf(options);
  const tenantOf = (request: FastifyRequest): Promise<string> => tenantOfRequest(options, request);
  const sessionId = (request: FastifyRequest): string => {
    const id = (request.params as { id: string }).id;
    if (!SESSION_ID.test(id)) throw new NotFoundError(`No session '${id.slice(0, 64)}'.`);
    return id;
  };

  ui.get("/ui/api/tenants", { config }, async (request) => {
    guard.require(request, false);
    return { tenants: await tenants() };
  });

  ui.get("/ui/api/sessions", { config }, async (request) => {
    guard.require(request, false);
    const tenant = await tenantOf(request);
    const q = request.query as Query;
    // Checked even when `q` names an id and the filters go unused: a bad value is a 400 either way.
    const query = listQueryOf(q, Date.now());
    const search = q.q?.trim();
    // An id typed in the search box lists that session: one read, whatever the store size.
    // Text that cannot be an id matches nothing (it used to be ignored: every session listed).
    // A listing must not restore an archived session: the record is read without it when it can be.
    if (search) {
      const read = options.peekSession ?? ((t: string, id: string) => store.get(t, id));
      const found = SESSION_ID.test(search)
        ? await read(tenant, search).catch((error: { code?: string }) => {
            if (error.code === "not_found") return null;
            throw error;
          })
        : null;
      return { data: found ? [sessionRow(found)] : [], nextCursor: null };
    }
    const page = await listForDashboard(store, tenant, q, query, options.archivedItems);
    return { ...page, data: page.data.map(sessionRow) };
  });

  ui.get("/ui/api/sessions/:id", { config }, async (request) => {
    guard.require(request, false);
    const tenant = await tenantOf(request);
    const id = sessionId(request);
    const q = request.query as Query;
    const windowTokens = q.windowTokens
      ? intParam(q.windowTokens, "windowTokens", 1, 2_000_000, 0)
      : undefined;
    const session = await store.get(tenant, id);
    const { entries, turns, omittedItems } = await loadTranscript(store, session);
    // The model of the latest turn decides the window unless the view asks for another.
    const model = (q.model?.trim() || turns.at(-1)?.model) ?? null;
    const window = await previewWindow(store, tenant, id, {
      model,
      ...(windowTokens !== undefined ? { maxInputTokens: windowTokens } : {}),
    });
    return {
      session: { ...sessionRow(session), metadata: session.metadata },
      entries,
      turns,
      truncatedBefore: omittedItems > 0,
      omittedItems,
      window,
    };
  });

  ui.get("/ui/api/sessions/:id/export", { config }, async (request, reply) => {
    guard.require(request, false);
    const tenant = await tenantOf(request);
    const id = sessionId(request);
    await store.get(tenant, id);
    return reply
      .type("application/x-ndjson; charset=utf-8")
      .header("content-disposition", `attachment; filename="${id}.jsonl"`)
      .send(Readable.from(exportChunks(store, tenant, { ids: [id] })));
  });

  ui.post("/ui/api/sessions/:id/fork", { config }, async (request) => {
    guard.require(request, true);
    const tenant = await tenantOf(request);
    const { atSeq } = bodyObject(request.body, ["atSeq"]);
    if (atSeq !== undefined && (!Number.isSafeInteger(atSeq) || (atSeq as number) < 0)) {
      throw new InvalidArgumentError("atSeq must be a non-negative integer.", { param: "atSeq" });
    }
    const fork = await store.fork(
      tenant,
      sessionId(request),
      atSeq === undefined ? {} : { atSeq: atSeq as number },
    );
    return { session: sessionRow(fork) };
  });

  ui.get("/ui/api/sessions/:id/forks", { config }, async (request) => {
    guard.require(request, false);
    const tenant = await tenantOf(request);
    const q = request.query as Query;
    const page = await store.list(tenant, {
      forkOf: sessionId(request),
      order: "asc",
      limit: intParam(q.limit, "limit", 1, 200, 50),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return { data: page.data.map(sessionRow), nextCursor: page.nextCursor };
  });

  ui.post("/ui/api/sessions/:id/compact", { config }, async (request) => {
    guard.require(request, true);
    const tenant = await tenantOf(request);
    const result = await compactSession(store, tenant, sessionId(request), request.body, options.summarize);
    return { result };
  });

  ui.delete("/ui/api/sessions/:id", { config }, async (request) => {
    guard.require(request, true);
    const tenant = await tenantOf(request);
    await store.delete(tenant, sessionId(request));
    return { deleted: true };
  });

  ui.get("/ui/api/usage", { config }, async (request) => {
    guard.require(request, false);
    const days = intParam((request.query as Query).days, "days", 1, 366, 30);
    const since = Date.now() - days * 86_400_000;
    const archivedItems = options.archivedItems;
    const query = { tenants: await tenants(), since, ...(archivedItems ? { archivedItems } : {}) };
    return { days, ...(await collectUsage(store, query)) };
  });

  ui.get("/ui/api/upstreams", { config }, async (request) => {
    guard.require(request, false);
    return { upstreams: await upstreamHealth(options.metrics, options.upstreams) };
  });
}
