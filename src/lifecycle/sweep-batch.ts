/**
 * Applies one batch of a cleanup plan and returns its action-log entries in the plan's order.
 * Actions carry the version they were planned at: a session that changed since is skipped,
 * never removed on stale information.
 */
import type { LifecycleCapable, StoreDriver } from "../store/driver.ts";
import type { SessionStore } from "../store/types.ts";
import type { ActionLogEntry } from "./action-log.ts";
import type { Archiver } from "./archiver.ts";
import type { PlannedAction } from "./plan-types.ts";
import { applyAction } from "./sweep-actions.ts";
import type { SweepLease } from "./sweep-lease.ts";

export interface BatchOptions {
  store: SessionStore;
  /** Needed for `archive`, `reset` and `purge_archive` actions. */
  archiver?: Archiver;
  /** Archive/reset actions run at once. */
  concurrency: number;
  /** The lease holder, named in every log entry. */
  holder: string;
  clock: () => number;
}

/**
 * Planned items one bulk purge call removes at most (a session bigger than that alone): the lease
 * is checked between calls, so one lost while a purge runs stops the batch after that call, not
 * after all of its deletes. A call is one statement (Postgres), ≤ 1 ms transactions on the purge
 * worker (SQLite) or one script per session (Redis), and 10,000 items take ~30-150 ms: an extra
 * call costs one round trip, lost in that. Batches of small sessions (the sweep benchmark's
 * 25 × 100 items) stay one call.
 */
export const PURGE_CHUNK_ITEMS = 10_000;

/** `deletes` in order, cut where the next session would take a call past PURGE_CHUNK_ITEMS. */
function purgeChunks(deletes: PlannedAction[]): PlannedAction[][] {
  const chunks: PlannedAction[][] = [];
  let items = 0;
  for (const a of deletes) {
    const last = chunks.at(-1);
    if (last && items + a.items <= PURGE_CHUNK_ITEMS) {
      last.push(a);
      items += a.items;
    } else {
      chunks.push([a]);
      items = a.items;
    }
  }
  return chunks;
}

export async function applyBatch(
  batch: PlannedAction[],
  driver: StoreDriver & LifecycleCapable,
  options: BatchOptions,
  lease: SweepLease,
): Promise<ActionLogEntry[]> {
  const deletes = batch.filter((a) => a.action === "delete");
  const entries: ActionLogEntry[] = [];
  const entry = (
    a: PlannedAction,
    outcome: ActionLogEntry["outcome"],
    items: number,
    bytes: number,
  ): ActionLogEntry =>
    logEntry(a, new Date(options.clock()).toISOString(), outcome, items, bytes, options.holder);
  for (const [i, chunk] of purgeChunks(deletes).entries()) {
    // Lost while the previous purge call ran (another sweeper took over): the rest of the batch
    // waits for the next sweep, as its archives do below. The batch loop checked it before the first.
    if (i > 0 && !(await lease.keep().catch(() => false))) break;
    const result = await driver.purgeSessions(
      chunk.map((a) => ({ tenant: a.tenant, id: a.sessionId, version: a.version })),
    );
    const removed = new Set(result.removed);
    for (const a of chunk) {
      const done = removed.has(`${a.tenant}\u0000${a.sessionId}`);
      entries.push(entry(a, done ? "done" : "skipped", done ? a.items : 0, done ? a.bytes : 0));
    }
  }
  // Archives wait on file I/O (gzip, fsync): a few run at once.
  const others = batch.filter((a) => a.action !== "delete");
  const one = async (a: PlannedAction): Promise<void> => {
    try {
      const outcome = await applyAction(a, { store: options.store, archiver: options.archiver });
      entries.push({ ...entry(a, outcome.outcome, outcome.items, outcome.bytes), ...outcome.extra });
    } catch (error) {
      entries.push({ ...entry(a, "error", 0, 0), error: (error as Error).message });
    }
  };
  for (let i = 0; i < others.length; i += options.concurrency) {
    // Lost mid-batch (another sweeper took over), or not renewable now: the rest of the batch
    // waits for the next sweep. What this batch applied is still logged (so no throw here).
    if (!(await lease.keep().catch(() => false))) break;
    await Promise.all(others.slice(i, i + options.concurrency).map(one));
  }
  // The log follows the plan's order, whatever order the batch was applied in.
  const order = new Map(batch.map((a, i) => [`${a.tenant}\u0000${a.sessionId}`, i]));
  const rank = (e: ActionLogEntry): number => order.get(`${e.tenant}\u0000${e.sessionId}`) ?? 0;
  return entries.sort((x, y) => rank(x) - rank(y));
}

function logEntry(
  a: PlannedAction,
  at: string,
  outcome: ActionLogEntry["outcome"],
  items: number,
  bytes: number,
  holder: string,
): ActionLogEntry {
  return {
    at,
    action: a.action,
    reason: a.reason,
    tenant: a.tenant,
    sessionId: a.sessionId,
    owner: a.owner,
    outcome,
    items,
    bytesFreed: bytes,
    holder,
  };
}
