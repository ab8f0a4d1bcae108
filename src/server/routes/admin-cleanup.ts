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
 * | GET  /v1/admin/cleanup/stats | the sweeper's counters |
 * | POST /v1/conversations/:id/restore | restores an archived conversation from cold storage |
 */
import type { FastifyInstance } from "fastify";
import type { Archiver } from "../../lifecycle/archiver.ts";
import type { CleanupPlan, PlannedAction } from "../../lifecycle/plan-types.ts";
import type { Sweeper } from "../../lifecycle/sweeper.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
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

const enforceBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    now: { type: "integer", minimum: 0 },
    plan: {
      type: "object",
      required: ["now", "actions"],
      properties: { now: { type: "integer" }, actions: { type: "array", maxItems: 100_000 } },
    },
  },
} as const;

const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", pattern: "^conv_[0-9a-f]{32}$" } },
} as const;

/** A submitted plan, reduced to the caller's tenant (a client never acts on another tenant). */
function ownPlan(plan: CleanupPlan, tenant: string): CleanupPlan {
  const actions = (plan.actions as PlannedAction[]).filter((a) => a?.tenant === tenant);
  for (const a of actions) {
    if (typeof a.sessionId !== "string" || typeof a.version !== "number" || typeof a.action !== "string") {
      throw new InvalidArgumentError(
        "plan.actions must be the actions of a plan from GET /v1/admin/cleanup/plan.",
        {
          param: "plan",
        },
      );
    }
  }
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

  app.get("/v1/admin/cleanup/stats", async () => ({ object: "cleanup.stats", ...deps.sweeper.stats() }));

  app.post<{ Params: { id: string } }>(
    "/v1/conversations/:id/restore",
    { schema: { params: idParams } },
    async (request) => toWireConversation(await deps.archiver.restore(request.tenant, request.params.id)),
  );
}
