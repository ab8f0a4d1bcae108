/**
 * `observeStorage(store, metrics)`: the `holdfast_sessions_active`, `holdfast_items_stored` and
 * `holdfast_bytes_stored` gauges. They come from the driver's `storageTotals` aggregate (one
 * GROUP BY over the session rows: SQLite, Postgres) or else from the lifecycle capability's
 * session scan (the same rows the sweeper plans from; counters only, no items are read),
 * computed at most once per `maxAgeMs`: a scrape reads the cached totals and, when they are stale, starts one refresh in the
 * background, so scrapes never queue full scans. Only the very first scrape waits for a scan
 * (and, when it fails, publishes no storage series rather than failing).
 * A driver without the lifecycle capability (all built-in ones have it) publishes no series.
 */

import { isReservedTenant } from "../security/system-records.ts";
import { driverOf } from "../store/decorators/delegating-store.ts";
import {
  hasStorageTotals,
  isLifecycleCapable,
  type LifecycleCapable,
  type StorageTotalsCapable,
} from "../store/driver.ts";
import type { Session, SessionStore } from "../store/types.ts";
import { MAX_LABEL_LENGTH } from "./bounded-label.ts";
import type { HoldfastMetrics } from "./create-metrics.ts";

/** Totals for one tenant label value. */
export interface StorageTotals {
  /** Visible sessions with status `active` (expired ones awaiting the sweeper and archive stubs excluded). */
  sessionsActive: number;
  /** Items held in the store (archive stubs hold none; expired sessions count until purged). */
  items: number;
  /** Item bytes plus state bytes held in the store, the figure tenant budgets use. */
  bytes: number;
}

/** The cached totals the gauges read at scrape time. */
export interface StorageTotalsSource {
  /** Totals by tenant label (bounded by `metrics.tenants`); waits only when nothing is cached yet. */
  read(): Promise<ReadonlyMap<string, StorageTotals>>;
}

export interface ObserveStorageOptions {
  /** How long totals are reused before a scrape triggers a new scan. Default 30,000 ms. */
  maxAgeMs?: number;
  /** Sessions per scan page. Default 5,000. */
  pageSize?: number;
  clock?: () => number;
}

const NO_TOTALS: ReadonlyMap<string, StorageTotals> = new Map();

function visible(s: Session, now: number): boolean {
  if (s.idleTtlMs !== null && s.lastActiveAt + s.idleTtlMs <= now) return false;
  return s.expiresAt === null || s.expiresAt > now;
}

/** One pass over every session: totals by (bounded) tenant label. */
export async function scanStorageTotals(
  driver: LifecycleCapable,
  label: (tenant: string) => string,
  now: number,
  pageSize = 5000,
): Promise<Map<string, StorageTotals>> {
  const totals = new Map<string, StorageTotals>();
  let after: { tenant: string; id: string } | undefined;
  for (;;) {
    const page = await driver.scanSessions({ after, limit: pageSize });
    for (const s of page) {
      const key = label(s.tenant);
      let t = totals.get(key);
      if (!t) {
        t = { sessionsActive: 0, items: 0, bytes: 0 };
        totals.set(key, t);
      }
      if (s.status === "archived") continue;
      if (visible(s, now)) t.sessionsActive++;
      t.items += s.itemCount;
      t.bytes += s.bytes;
    }
    if (page.length < pageSize) return totals;
    const last = page.at(-1)!;
    after = { tenant: last.tenant, id: last.id };
  }
}

/** The driver's aggregate, folded by (bounded) tenant label. */
export async function aggregateStorageTotals(
  driver: StorageTotalsCapable,
  label: (tenant: string) => string,
  now: number,
): Promise<Map<string, StorageTotals>> {
  const totals = new Map<string, StorageTotals>();
  for (const row of await driver.storageTotals(now)) {
    const key = label(row.tenant);
    const t = totals.get(key) ?? { sessionsActive: 0, items: 0, bytes: 0 };
    t.sessionsActive += row.sessionsActive;
    t.items += row.items;
    t.bytes += row.bytes;
    totals.set(key, t);
  }
  return totals;
}

/**
 * The `tenant` label of a stored session. System tenants (`_hf_api_key`, `_hf_data_key`…: the
 * records of keys and tokens) keep their own names outside the `maxTenants` cap: only Holdfast
 * writes them, one per record kind, and they sort before every lowercase tenant, so counting them
 * took the first of the 200 slots and pushed real tenants into `other`.
 */
function tenantLabel(metrics: HoldfastMetrics, tenant: string): string {
  return isReservedTenant(tenant) && tenant.length <= MAX_LABEL_LENGTH
    ? tenant
    : metrics.tenants.value(tenant);
}

/**
 * Points the storage gauges at `store` (one store per registry). Returns a function that detaches
 * it; without a lifecycle-capable driver it attaches nothing.
 */
export function observeStorage(
  store: SessionStore,
  metrics: HoldfastMetrics,
  options: ObserveStorageOptions = {},
): () => void {
  const driver = driverOf(store);
  if (!driver || !isLifecycleCapable(driver)) return () => {};
  const maxAgeMs = options.maxAgeMs ?? 30_000;
  const clock = options.clock ?? Date.now;
  let cached: { at: number; totals: ReadonlyMap<string, StorageTotals> } | null = null;
  let inFlight: Promise<ReadonlyMap<string, StorageTotals>> | null = null;
  const refresh = (): Promise<ReadonlyMap<string, StorageTotals>> => {
    inFlight ??= (async () => {
      const now = clock();
      try {
        const label = (t: string): string => tenantLabel(metrics, t);
        const totals = hasStorageTotals(driver)
          ? await aggregateStorageTotals(driver, label, now)
          : await scanStorageTotals(driver, label, now, options.pageSize);
        cached = { at: now, totals };
        return totals;
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };
  const source: StorageTotalsSource = {
    async read() {
      // A store that is down must not fail the whole scrape (the other metrics matter most during
      // an outage): no storage series until a refresh succeeds; the next scrape tries again.
      if (!cached) return refresh().catch(() => NO_TOTALS);
      if (clock() - cached.at >= maxAgeMs) {
        // Serve the previous totals; a failed background refresh is retried by the next scrape.
        refresh().catch(() => {});
      }
      return cached.totals;
    },
  };
  metrics.sources.storage = source;
  return () => {
    if (metrics.sources.storage === source) metrics.sources.storage = null;
  };
}
