/** The shapes of a cleanup plan (planner.ts builds them; the sweeper, CLI and admin route read them). */

export const CLEANUP_ACTIONS = ["delete", "archive", "reset", "purge_archive"] as const;
export type CleanupAction = (typeof CLEANUP_ACTIONS)[number];

export const CLEANUP_REASONS = [
  "absolute_ttl",
  "idle_ttl",
  "reset_schedule",
  "owner_limit",
  "tenant_budget",
  "global_budget",
  "archive_retention",
] as const;
export type CleanupReason = (typeof CLEANUP_REASONS)[number];

/** One action on one session. `version` guards it: a session that changed since is skipped. */
export interface PlannedAction {
  action: CleanupAction;
  reason: CleanupReason;
  tenant: string;
  sessionId: string;
  owner: string | null;
  version: number;
  /** `now - createdAt`. */
  ageMs: number;
  /** `now - lastActiveAt`. */
  idleMs: number;
  items: number;
  /** Bytes the action frees in the store. */
  bytes: number;
}

export interface Tally {
  sessions: number;
  items: number;
  bytes: number;
}

export interface CleanupPlan {
  /** The instant the plan was computed for (epoch ms). */
  now: number;
  /** Only this tenant was planned, or null for all. */
  tenant: string | null;
  actions: PlannedAction[];
  totals: Tally & {
    byReason: Partial<Record<CleanupReason, Tally>>;
    byAction: Partial<Record<CleanupAction, Tally>>;
  };
  /** Pinned sessions are never acted on but count against budgets; reported here. */
  pinned: Tally & { byTenant: Record<string, Tally> };
  /** Stored bytes per tenant before and after the plan. */
  usage: { before: Record<string, number>; after: Record<string, number> };
  /** Things an operator should know: unparsable overrides, budgets that pinned sessions exceed. */
  warnings: string[];
}

export function emptyTally(): Tally {
  return { sessions: 0, items: 0, bytes: 0 };
}

export function addTo(tally: Tally, items: number, bytes: number): void {
  tally.sessions += 1;
  tally.items += items;
  tally.bytes += bytes;
}

/** The tally under `key`, created empty on first use. */
export function tallyOf<K extends string>(map: Partial<Record<K, Tally>>, key: K): Tally {
  let tally = map[key];
  if (!tally) {
    tally = emptyTally();
    map[key] = tally;
  }
  return tally;
}
