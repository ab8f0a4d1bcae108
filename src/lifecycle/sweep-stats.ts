/**
 * The sweeper's counters, for the operator (every tenant: metrics, the CLI) and for one tenant
 * (its admin routes and dashboard). A tenant's view holds only what concerns it: the actions on
 * its sessions, and the runs that covered it — whole-store sweeps and its own cleanups — never
 * another tenant's activity, which its volume and timing would give away.
 */
import type { ActionLogEntry } from "./action-log.ts";

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

function emptyStats(): SweeperStats {
  return {
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
}

/** `tenant` null: a run over every tenant (a background sweep, `holdfast cleanup` without --tenant). */
export type RunScope = string | null;

export class SweepStats {
  /** Everything, every tenant. */
  readonly #all = emptyStats();
  /** Runs over the whole store: they count in every tenant's view. */
  readonly #global = emptyStats();
  /** Per tenant: its own runs and the actions on its sessions (whoever ran them). */
  readonly #byTenant = new Map<string, SweeperStats>();

  #run(scope: RunScope): SweeperStats[] {
    return [this.#all, scope === null ? this.#global : this.#tenant(scope)];
  }

  #tenant(tenant: string): SweeperStats {
    let stats = this.#byTenant.get(tenant);
    if (!stats) {
      stats = emptyStats();
      this.#byTenant.set(tenant, stats);
    }
    return stats;
  }

  ran(scope: RunScope, at: number, durationMs: number): void {
    for (const s of this.#run(scope)) {
      s.runs++;
      s.lastRunAt = at;
      s.lastDurationMs = durationMs;
    }
  }

  leaseDenied(scope: RunScope): void {
    for (const s of this.#run(scope)) s.leaseDenied++;
  }

  leaseLost(scope: RunScope): void {
    for (const s of this.#run(scope)) s.leaseLost++;
  }

  /** A run that failed as a whole (e.g. planning could not read the store). */
  failed(scope: RunScope): void {
    for (const s of this.#run(scope)) s.errors++;
  }

  action(e: ActionLogEntry): void {
    for (const s of [this.#all, this.#tenant(e.tenant)]) {
      if (e.outcome === "done") s.actions[e.action] = (s.actions[e.action] ?? 0) + 1;
      else if (e.outcome === "skipped") s.skipped++;
      else s.errors++;
      s.itemsRemoved += e.items;
      s.bytesFreed += e.bytesFreed;
    }
  }

  /** Every tenant's figures, or one tenant's (its actions, its runs and the whole-store runs). */
  snapshot(tenant?: string): SweeperStats {
    if (tenant === undefined) return structuredClone(this.#all);
    const own = this.#byTenant.get(tenant) ?? emptyStats();
    const global = this.#global;
    const ownLast = (own.lastRunAt ?? -1) >= (global.lastRunAt ?? -1);
    const last = ownLast ? own : global;
    return {
      runs: own.runs + global.runs,
      actions: { ...own.actions },
      skipped: own.skipped,
      errors: own.errors + global.errors,
      itemsRemoved: own.itemsRemoved,
      bytesFreed: own.bytesFreed,
      leaseDenied: own.leaseDenied + global.leaseDenied,
      leaseLost: own.leaseLost + global.leaseLost,
      lastRunAt: last.lastRunAt,
      lastDurationMs: last.lastDurationMs,
    };
  }
}
