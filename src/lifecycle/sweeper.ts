/**
 * The sweeper: plans (planner.ts) and applies cleanup plans in bounded, rate-limited batches
 * while holding a lease, so exactly one instance sweeps at a time; a crashed sweeper's lease
 * expires after `leaseTtlMs`. Every action is recorded in the action log and counted in
 * `stats()`. Actions carry the version they were planned at: a session that changed since is
 * skipped, never removed on stale information.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { LifecycleCapable, StoreDriver } from "../store/driver.ts";
import { ConflictError, InvalidArgumentError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import type { ActionLog, ActionLogEntry } from "./action-log.ts";
import { type Archiver, lifecycleDriver } from "./archiver.ts";
import { checkSystemRecordActions } from "./plan-file.ts";
import type { CleanupPlan, PlannedAction } from "./plan-types.ts";
import { planCleanup } from "./planner.ts";
import type { LifecyclePolicy } from "./policy.ts";
import { collectSnapshot } from "./snapshot.ts";
import { applyAction } from "./sweep-actions.ts";

export interface SweeperOptions {
  store: SessionStore;
  policy: LifecyclePolicy;
  /** Needed for `archive`, `reset` and `purge_archive` actions. */
  archiver?: Archiver;
  actionLog?: ActionLog;
  /** Epoch ms (injectable for tests); also the lease clock. Default `Date.now`. */
  clock?: () => number;
  /** Lease holder id. Default `<hostname>:<pid>:<random>`. */
  holder?: string;
  /** Default `holdfast-sweeper`. */
  leaseName?: string;
  /** Default 30 s; renewed every third of it: while a batch runs, during pauses and between batches. */
  leaseTtlMs?: number;
  /** Actions per batch: a whole number ≥ 1 (default 200). */
  batchSize?: number;
  /** Most actions per second (default: unlimited). */
  maxOpsPerSecond?: number | null;
  /** Pause between batches (ms, default 0), so live traffic gets the store in between. */
  pauseMs?: number;
  /**
   * Pause after each batch in proportion to the time it took (default 0): after a batch of
   * t ms the sweeper sleeps `pauseRatio × t` (at least `pauseMs`), so the share of time it
   * keeps the store busy is 1 / (1 + pauseRatio) whatever the store, batch size or machine.
   */
  pauseRatio?: number;
  /** How the sweeper sleeps between batches (tests observe the pacing through it). */
  sleep?: (ms: number) => Promise<unknown>;
  /** Archive/reset actions run at once within a batch: a whole number ≥ 1 (default 4). */
  concurrency?: number;
  /**
   * Runs after each sweep this sweeper applied that did something; e.g. the encryption
   * decorator's `shredOrphanedKeys()`, since removed sessions bypass it. Errors count as sweep errors.
   */
  afterSweep?: (report: SweepReport) => Promise<unknown>;
}

export interface SweepReport {
  planned: number;
  done: number;
  skipped: number;
  errors: number;
  itemsRemoved: number;
  bytesFreed: number;
  /** True when the lease was lost mid-way (another sweeper took over); the rest was not applied. */
  leaseLost: boolean;
  durationMs: number;
}

export interface SweeperStats {
  runs: number;
  actions: Record<string, number>;
  skipped: number;
  errors: number;
  itemsRemoved: number;
  bytesFreed: number;
  leaseDenied: number;
  leaseLost: number;
  lastRunAt: number | null;
  lastDurationMs: number | null;
}

export interface ApplyOptions {
  onProgress?: (done: number, total: number) => void;
}

/** Raised when another sweeper holds the lease (CLI exit code 6, HTTP 409). */
export class LeaseHeldError extends ConflictError {
  constructor(name: string) {
    super(`Another sweeper holds the '${name}' lease; retry once it finishes (or its lease expires).`, {
      code: "lease_conflict",
    });
  }
}

export interface Sweeper {
  readonly holder: string;
  plan(options?: { tenant?: string; now?: number }): Promise<CleanupPlan>;
  /**
   * Applies `plan` under the lease; throws LeaseHeldError when another sweeper holds it, and
   * InvalidArgumentError (applying nothing) when an action on a system record is not that
   * record's own expiry (`checkSystemRecordActions`).
   */
  apply(plan: CleanupPlan, options?: ApplyOptions): Promise<SweepReport>;
  /** Plans and applies once; null when another sweeper holds the lease. */
  sweepOnce(): Promise<SweepReport | null>;
  /** Sweeps every `intervalMs` in the background until `stop()`. */
  start(intervalMs: number): void;
  /**
   * Stops the background sweeps; a sweep in progress (background or `apply`) ends after its
   * current batch, its pause cut short, and releases the lease. Resolves once it has.
   */
  stop(): Promise<void>;
  stats(): SweeperStats;
}

function positive(value: number | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(`Sweeper option ${name} must be a number ≥ ${min} (got ${value}).`, {
      param: name,
    });
  }
  return value;
}

/** A count (batch size, concurrency): a whole number from `min`, never a fraction `slice` would truncate. */
function count(value: number | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `Sweeper option ${name} must be a whole number from ${min} to ${Number.MAX_SAFE_INTEGER} (got ${value}).`,
      { param: name },
    );
  }
  return value;
}

class LeaseSweeper implements Sweeper {
  readonly holder: string;
  readonly #o: Required<
    Omit<SweeperOptions, "archiver" | "actionLog" | "maxOpsPerSecond" | "afterSweep" | "sleep">
  > &
    SweeperOptions;
  readonly #driver: StoreDriver & LifecycleCapable;
  readonly #stats: SweeperStats = {
    runs: 0,
    actions: {},
    skipped: 0,
    errors: 0,
    itemsRemoved: 0,
    bytesFreed: 0,
    leaseDenied: 0,
    leaseLost: 0,
    lastRunAt: null,
    lastDurationMs: null,
  };
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopping = false;
  /** Aborted by `stop()`: a sweep in progress ends after its current batch, its pause cut short. */
  #halt = new AbortController();

  constructor(options: SweeperOptions) {
    this.#driver = lifecycleDriver(options.store);
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
    this.#o = Object.freeze({
      ...options,
      clock: options.clock ?? Date.now,
      holder: this.holder,
      leaseName: options.leaseName ?? "holdfast-sweeper",
      leaseTtlMs: positive(options.leaseTtlMs, "leaseTtlMs", 30_000),
      batchSize: count(options.batchSize, "batchSize", 200),
      pauseMs: positive(options.pauseMs, "pauseMs", 0, 0),
      pauseRatio: positive(options.pauseRatio, "pauseRatio", 0, 0),
      concurrency: count(options.concurrency, "concurrency", 4),
      maxOpsPerSecond:
        options.maxOpsPerSecond == null ? null : positive(options.maxOpsPerSecond, "maxOpsPerSecond", 0),
    });
  }

  async plan(options: { tenant?: string; now?: number } = {}): Promise<CleanupPlan> {
    const now = options.now ?? this.#o.clock();
    const snapshot = await collectSnapshot(this.#driver, { tenant: options.tenant });
    return planCleanup(snapshot, this.#o.policy, now, { tenant: options.tenant });
  }

  async apply(plan: CleanupPlan, options: ApplyOptions = {}): Promise<SweepReport> {
    const o = this.#o;
    // Before the lease and any action: a refused plan applies nothing.
    await checkSystemRecordActions(this.#driver, plan, o.clock());
    if (!(await this.#driver.acquireLease(o.leaseName, this.holder, o.leaseTtlMs, o.clock()))) {
      this.#stats.leaseDenied++;
      throw new LeaseHeldError(o.leaseName);
    }
    const started = performance.now();
    const halt = this.#halt.signal;
    const report: SweepReport = {
      planned: plan.actions.length,
      done: 0,
      skipped: 0,
      errors: 0,
      itemsRemoved: 0,
      bytesFreed: 0,
      leaseLost: false,
      durationMs: 0,
    };
    const lease: { renewedAt: number; renewing: Promise<boolean> | null } = {
      renewedAt: o.clock(),
      renewing: null,
    };
    const renew = async (): Promise<boolean> => {
      if (await this.#driver.renewLease(o.leaseName, this.holder, o.leaseTtlMs, o.clock())) {
        lease.renewedAt = o.clock();
        return true;
      }
      report.leaseLost = true;
      this.#stats.leaseLost++;
      return false;
    };
    /**
     * Renews the lease once a third of it has passed; false (and the report says so) once lost.
     * Callers racing (the in-batch heartbeat and the loop) share one renewal.
     */
    const keepLease = (): Promise<boolean> => {
      if (report.leaseLost) return Promise.resolve(false);
      if (o.clock() - lease.renewedAt < o.leaseTtlMs / 3) return Promise.resolve(true);
      lease.renewing ??= renew().finally(() => {
        lease.renewing = null;
      });
      return lease.renewing;
    };
    try {
      for (let i = 0; i < plan.actions.length; i += o.batchSize) {
        const batchStart = performance.now();
        const batch = plan.actions.slice(i, i + o.batchSize);
        const entries = await this.#duringBatch(keepLease, () => this.#applyBatch(batch, keepLease));
        await o.actionLog?.record(entries);
        this.#count(entries, report);
        options.onProgress?.(Math.min(i + o.batchSize, plan.actions.length), plan.actions.length);
        if (i + o.batchSize >= plan.actions.length || halt.aborted) break;
        if (!(await keepLease())) break;
        // The pause may outlast the lease: it is slept in slices, the lease renewed in between, and
        // checked once more before the next batch (another sweeper may have taken it meanwhile).
        if (!(await this.#pace(batch.length, performance.now() - batchStart, keepLease, halt))) break;
        if (halt.aborted || !(await keepLease())) break;
      }
    } finally {
      if (!report.leaseLost) await this.#driver.releaseLease(o.leaseName, this.holder);
      report.durationMs = Math.round(performance.now() - started);
      this.#stats.runs++;
      this.#stats.lastRunAt = o.clock();
      this.#stats.lastDurationMs = report.durationMs;
    }
    return report;
  }

  /**
   * Runs a batch while renewing the lease every third of its TTL: one batch can outlast the lease
   * (200 archives of big sessions on a loaded store), and a lease expired mid-batch let a second
   * sweeper start while this one was still applying. A renewal that fails here is reported by the
   * loop's next check.
   */
  async #duringBatch<T>(keepLease: () => Promise<boolean>, run: () => Promise<T>): Promise<T> {
    const heartbeat = setInterval(() => {
      keepLease().catch(() => {});
    }, this.#o.leaseTtlMs / 3);
    try {
      return await run();
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #applyBatch(batch: PlannedAction[], keepLease: () => Promise<boolean>): Promise<ActionLogEntry[]> {
    const deletes = batch.filter((a) => a.action === "delete");
    const entries: ActionLogEntry[] = [];
    const at = (): string => new Date(this.#o.clock()).toISOString();
    if (deletes.length > 0) {
      // Plain deletes go to the driver in one bulk purge: one transaction for the whole batch.
      const result = await this.#driver.purgeSessions(
        deletes.map((a) => ({ tenant: a.tenant, id: a.sessionId, version: a.version })),
      );
      const removed = new Set(result.removed);
      for (const a of deletes) {
        const done = removed.has(`${a.tenant}\u0000${a.sessionId}`);
        entries.push(this.#entry(a, at(), done ? "done" : "skipped", done ? a.items : 0, done ? a.bytes : 0));
      }
    }
    // Archives wait on file I/O (gzip, fsync): a few run at once.
    const others = batch.filter((a) => a.action !== "delete");
    const one = async (a: PlannedAction): Promise<void> => {
      try {
        const outcome = await applyAction(a, { store: this.#o.store, archiver: this.#o.archiver });
        entries.push({
          ...this.#entry(a, at(), outcome.outcome, outcome.items, outcome.bytes),
          ...outcome.extra,
        });
      } catch (error) {
        entries.push({ ...this.#entry(a, at(), "error", 0, 0), error: (error as Error).message });
      }
    };
    for (let i = 0; i < others.length; i += this.#o.concurrency) {
      // Lost mid-batch (another sweeper took over), or not renewable now: the rest of the batch
      // waits for the next sweep. What this batch applied is still logged (so no throw here).
      if (!(await keepLease().catch(() => false))) break;
      await Promise.all(others.slice(i, i + this.#o.concurrency).map(one));
    }
    // The log follows the plan's order, whatever order the batch was applied in.
    const order = new Map(batch.map((a, i) => [`${a.tenant}\u0000${a.sessionId}`, i]));
    const rank = (e: ActionLogEntry): number => order.get(`${e.tenant}\u0000${e.sessionId}`) ?? 0;
    return entries.sort((x, y) => rank(x) - rank(y));
  }

  #entry(
    a: PlannedAction,
    at: string,
    outcome: ActionLogEntry["outcome"],
    items: number,
    bytes: number,
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
      holder: this.holder,
    };
  }

  #count(entries: ActionLogEntry[], report: SweepReport): void {
    for (const e of entries) {
      if (e.outcome === "done") {
        report.done++;
        this.#stats.actions[e.action] = (this.#stats.actions[e.action] ?? 0) + 1;
      } else if (e.outcome === "skipped") {
        report.skipped++;
        this.#stats.skipped++;
      } else {
        report.errors++;
        this.#stats.errors++;
      }
      report.itemsRemoved += e.items;
      report.bytesFreed += e.bytesFreed;
      this.#stats.itemsRemoved += e.items;
      this.#stats.bytesFreed += e.bytesFreed;
    }
  }

  /**
   * Sleeps so the sweep stays under maxOpsPerSecond and leaves live traffic at least pauseMs,
   * and pauseRatio × the batch's own time: a slow batch (big sessions, a loaded store) earns a
   * longer pause than a fixed one would give it.
   */
  async #pace(
    ops: number,
    tookMs: number,
    keepLease: () => Promise<boolean>,
    halt: AbortSignal,
  ): Promise<boolean> {
    const { maxOpsPerSecond, pauseMs, pauseRatio, leaseTtlMs } = this.#o;
    const floor = maxOpsPerSecond ? (ops / maxOpsPerSecond) * 1000 - tookMs : 0;
    const wait = Math.max(pauseMs, pauseRatio * tookMs, floor);
    if (wait <= 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return true;
    }
    const slice = leaseTtlMs / 3;
    let wake = (): void => {};
    const halted = new Promise<void>((resolve) => {
      wake = resolve;
    });
    halt.addEventListener("abort", wake, { once: true });
    try {
      for (let left = wait; left > 0; left -= slice) {
        if (halt.aborted) return false;
        const ms = Math.min(left, slice);
        // The default sleep is cancelled too, so no timer keeps a stopping process alive.
        const nap = this.#o.sleep
          ? this.#o.sleep(ms)
          : sleep(ms, undefined, { signal: halt }).catch(() => {});
        await Promise.race([nap, halted]);
        if (halt.aborted) return false;
        if (left > slice && !(await keepLease())) return false;
      }
      return true;
    } finally {
      halt.removeEventListener("abort", wake);
    }
  }

  async sweepOnce(): Promise<SweepReport | null> {
    const plan = await this.plan();
    let report: SweepReport;
    try {
      report = await this.apply(plan);
    } catch (error) {
      if (error instanceof LeaseHeldError) return null;
      throw error;
    }
    if (report.done > 0 && this.#o.afterSweep) await this.#o.afterSweep(report);
    return report;
  }

  start(intervalMs: number): void {
    positive(intervalMs, "intervalMs", 0, 1);
    if (this.#timer) return;
    this.#stopping = false;
    const tick = (): void => {
      this.#running = this.sweepOnce()
        .catch(() => {
          this.#stats.errors++;
        })
        .finally(() => {
          this.#running = null;
          if (!this.#stopping) this.#timer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.#timer = setTimeout(tick, intervalMs).unref();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#halt.abort();
    try {
      await this.#running;
    } finally {
      // Sweeps started after stop() (a CLI or admin apply) run to the end again.
      this.#halt = new AbortController();
    }
  }

  stats(): SweeperStats {
    return structuredClone(this.#stats);
  }
}

/** Creates a sweeper over `store` (its driver must be LifecycleCapable). */
export function createSweeper(options: SweeperOptions): Sweeper {
  return new LeaseSweeper(options);
}
