/**
 * Lifecycle admin routes (src/lifecycle): preview the cleanup plan (what `holdfast cleanup
 * --dry-run` prints, for the dashboard), enforce it, read the sweeper's counters, and restore
 * an archived conversation. Everything acts within the caller's tenant; `/v1/admin/…` needs the
 * `admin` scope, the restore route `conversations:write`.
 *
 * | route | does |
 * |---|---|
 * | GET  /v1/admin/cleanup/plan[?now=<epoch ms>] | the plan for the caller's tenant |
 * | POST /v1/admin/cleanup/enforce `{now?, plan?}` | applies `plan` (from the preview) or a fresh plan at `now`; 409 `lease_conflict` while another sweeper runs |
 * | GET  /v1/admin/cleanup/stats | the sweeper's counters for the caller's tenant (never another tenant's) |
 * | POST /v1/conversations/:id/restore | restores an archived conversation from cold storage |
 */
import type { FastifyInstance } from "fastify";
import type { Archiver } from "../../lifecycle/archiver.ts";
import { CLEANUP_ACTIONS, type CleanupPlan, type PlannedAction } from "../../lifecycle/plan-types.ts";
import type { Sweeper } from "../../lifecycle/sweeper.ts";
import { conversationIdParams } from "../schemas.ts";
import { toWireConversation } from "../wire.ts";

export interface CleanupRouteDeps {
  sweeper: Sweeper;
  archiver: Archiver;
}

const nowQuery = {
  type: "object",
  additionalProperties: false,
  properties: { now: { type: "string", pattern: "^[0-9]{1,15}$" } },
} as const;

/** Epoch ms up to the last instant a Date can hold. */
const epochMs = { type: "integer", minimum: 0, maximum: 8_640_000_000_000_000 } as const;

/** A planned action as GET …/plan returns it; the fields the sweeper acts on are checked. */
const plannedAction = {
  type: "object",
  required: ["action", "tenant", "sessionId", "version"],
  properties: {
    action: { type: "string", enum: CLEANUP_ACTIONS },
    tenant: { type: "string", minLength: 1, maxLength: 64 },
    sessionId: conversationIdParams.properties.id,
    version: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  },
} as const;

const enforceBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    now: epochMs,
    plan: {
      type: "object",
      required: ["now", "actions"],
      properties: { now: epochMs, actions: { type: "array", maxItems: 100_000, items: plannedAction } },
    },
  },
} as const;

/** A submitted plan (its actions checked by the schema), reduced to the caller's tenant. */
function ownPlan(plan: CleanupPlan, tenant: string): CleanupPlan {
  // A client never acts on another tenant: such actions are dropped.
  const actions = (plan.actions as PlannedAction[]).filter((a) => a.tenant === tenant);
  return { ...plan, tenant, actions };
}

/** Registers the lifecycle routes; the server calls it once, next to the other route groups. */
export function registerCleanupRoutes(app: FastifyInstance, deps: CleanupRouteDeps): void {
  app.get<{ Querystring: { now?: string } }>(
    "/v1/admin/cleanup/plan",
    { schema: { querystring: nowQuery } },
    async (request) => {
      const now = request.query.now === undefined ? undefined : Number(request.query.now);
      return { object: "cleanup.plan", ...(await deps.sweeper.plan({ tenant: request.tenant, now })) };
    },
  );

  app.post<{ Body: { now?: number; plan?: CleanupPlan } | undefined }>(
    "/v1/admin/cleanup/enforce",
    { schema: { body: enforceBody } },
    async (request) => {
      const body = request.body ?? {};
      const plan = body.plan
        ? ownPlan(body.plan, request.tenant)
        : await deps.sweeper.plan({ tenant: request.tenant, now: body.now });
      const report = await deps.sweeper.apply(plan);
      return { object: "cleanup.report", plan, report };
    },
  );

  // A tenant's admin sees its own tenant's figures: the whole sweeper's would show what the
  // sweeper did in every other tenant (the operator has them in /metrics).
  app.get("/v1/admin/cleanup/stats", async (request) => ({
    object: "cleanup.stats",
    ...deps.sweeper.stats(request.tenant),
  }));

  app.post<{ Params: { id: string } }>(
    "/v1/conversations/:id/restore",
    { schema: { params: conversationIdParams } },
    async (request) => toWireConversation(await deps.archiver.restore(request.tenant, request.params.id)),
  );
}
