/**
 * The sweeper: plans (planner.ts) and applies cleanup plans in bounded, rate-limited batches
 * (sweep-pacing.ts) while holding a lease (sweep-lease.ts), so exactly one instance sweeps at a
 * time; a crashed sweeper's lease expires after `leaseTtlMs`. Each batch (sweep-batch.ts) is
 * recorded in the action log and counted in `stats()`.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { LifecycleCapable, StoreDriver } from "../store/driver.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import type { ActionLog, ActionLogEntry } from "./action-log.ts";
import { type Archiver, lifecycleDriver } from "./archiver.ts";
import { checkSystemRecordActions } from "./plan-file.ts";
import type { CleanupPlan } from "./plan-types.ts";
import { planCleanup } from "./planner.ts";
import type { LifecyclePolicy } from "./policy.ts";
import { collectSnapshot } from "./snapshot.ts";
import { applyBatch } from "./sweep-batch.ts";
import { LeaseHeldError, SweepLease } from "./sweep-lease.ts";
import { pauseAfterBatch } from "./sweep-pacing.ts";
import { type SweeperStats, SweepStats } from "./sweep-stats.ts";

export { LeaseHeldError } from "./sweep-lease.ts";
export type { SweeperStats } from "./sweep-stats.ts";

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

export interface ApplyOptions {
  onProgress?: (done: number, total: number) => void;
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
  /**
   * The counters since start: of every tenant, or with `tenant` only that tenant's (the actions on
   * its sessions, its own runs and the whole-store ones) — what a tenant's admin may see.
   */
  stats(tenant?: string): SweeperStats;
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
  readonly #stats = new SweepStats();
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
    const terms = { name: o.leaseName, holder: this.holder, ttlMs: o.leaseTtlMs, clock: o.clock };
    const scope = plan.tenant ?? null;
    const lease = await SweepLease.acquire(this.#driver, terms, () => {
      report.leaseLost = true;
      this.#stats.leaseLost(scope);
    });
    if (lease === null) {
      this.#stats.leaseDenied(scope);
      throw new LeaseHeldError(o.leaseName);
    }
    const started = performance.now();
    const halt = this.#halt.signal;
    try {
      for (let i = 0; i < plan.actions.length; i += o.batchSize) {
        const batchStart = performance.now();
        const batch = plan.actions.slice(i, i + o.batchSize);
        const entries = await lease.during(() => applyBatch(batch, this.#driver, this.#o, lease));
        await o.actionLog?.record(entries);
        this.#count(entries, report);
        options.onProgress?.(Math.min(i + o.batchSize, plan.actions.length), plan.actions.length);
        if (i + o.batchSize >= plan.actions.length || halt.aborted) break;
        if (!(await lease.keep())) break;
        // The pause may outlast the lease: it is slept in slices, the lease renewed in between, and
        // checked once more before the next batch (another sweeper may have taken it meanwhile).
        if (!(await pauseAfterBatch(batch.length, performance.now() - batchStart, o, lease, halt))) break;
        if (halt.aborted || !(await lease.keep())) break;
      }
    } finally {
      await lease.release();
      report.durationMs = Math.round(performance.now() - started);
      this.#stats.ran(scope, o.clock(), report.durationMs);
    }
    return report;
  }

  #count(entries: ActionLogEntry[], report: SweepReport): void {
    for (const e of entries) {
      if (e.outcome === "done") report.done++;
      else if (e.outcome === "skipped") report.skipped++;
      else report.errors++;
      report.itemsRemoved += e.items;
      report.bytesFreed += e.bytesFreed;
      this.#stats.action(e);
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
          this.#stats.failed(null);
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

  stats(tenant?: string): SweeperStats {
    return this.#stats.snapshot(tenant);
  }
}

/** Creates a sweeper over `store` (its driver must be LifecycleCapable). */
export function createSweeper(options: SweeperOptions): Sweeper {
  return new LeaseSweeper(options);
}
