/**
 * The Cleanup view's API: the lifecycle dry-run plan for one tenant (totals, by reason and
 * action, the first actions, warnings) and enforcing it behind the CSRF token. Enforcing
 * re-plans at the previewed instant, so it applies the plan that was shown; the sweeper skips any
 * session that changed since (actions carry their version).
 */
import type { FastifyInstance } from "fastify";
import type { Sweeper } from "../lifecycle/sweeper.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import { tenantOfRequest } from "./api.ts";
import { bodyObject } from "./body.ts";
import type { DashboardGuard, DashboardOptions } from "./server.ts";

/** What the dashboard uses of the sweeper. */
export type DashboardSweeper = Pick<Sweeper, "plan" | "apply" | "stats">;

/** Actions listed in the preview; totals always cover the whole plan. */
export const PREVIEW_ACTIONS = 200;

/** Registers `GET /ui/api/cleanup` and `POST /ui/api/cleanup/enforce`. */
export function registerCleanupApi(
  ui: FastifyInstance,
  options: DashboardOptions & { guard: DashboardGuard },
): void {
  const { guard, sweeper } = options;
  const config = { public: true };

  ui.get("/ui/api/cleanup", { config }, async (request) => {
    guard.require(request, false);
    const tenant = await tenantOfRequest(options, request);
    if (!sweeper) return { available: false, plan: null, stats: null };
    // `stats` is this tenant's share of the sweeper's counters, as on GET /v1/admin/cleanup/stats.
    const plan = await sweeper.plan({ tenant });
    return {
      available: true,
      plan: {
        now: plan.now,
        totals: plan.totals,
        pinned: { sessions: plan.pinned.sessions, items: plan.pinned.items, bytes: plan.pinned.bytes },
        usage: { before: plan.usage.before[tenant] ?? 0, after: plan.usage.after[tenant] ?? 0 },
        warnings: plan.warnings,
        actionCount: plan.actions.length,
        actions: plan.actions.slice(0, PREVIEW_ACTIONS),
      },
      stats: sweeper.stats(tenant),
    };
  });

  ui.post("/ui/api/cleanup/enforce", { config }, async (request) => {
    guard.require(request, true);
    const tenant = await tenantOfRequest(options, request);
    if (!sweeper)
      throw new InvalidArgumentError("No sweeper is configured on this server.", { param: "sweeper" });
    const { now } = bodyObject(request.body, ["now"]);
    if (!Number.isSafeInteger(now) || (now as number) <= 0 || (now as number) > Date.now() + 60_000) {
      throw new InvalidArgumentError("now must be the `now` of the previewed plan (epoch ms).", {
        param: "now",
      });
    }
    const plan = await sweeper.plan({ tenant, now: now as number });
    const report = await sweeper.apply(plan);
    return { report };
  });
}
