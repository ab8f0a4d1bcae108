/**
 * `createMetrics()`: every Holdfast metric on its own prom-client Registry (never the global
 * one, so several servers in one process and the tests stay independent). Names follow the
 * Prometheus conventions: `holdfast_` prefix, base units (seconds, bytes, USD), `_total` counters.
 * No label ever carries a session id, a raw URL or any other unbounded value.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { InvalidArgumentError } from "../store/errors.ts";
import { BoundedLabel } from "./bounded-label.ts";
import type { StorageTotals, StorageTotalsSource } from "./storage-gauges.ts";

export interface MetricsOptions {
  /** Collect Node's default metrics (event-loop lag, heap, GC, handles). Default true. */
  defaultMetrics?: boolean;
  /** Distinct tenants kept as label values; later ones are counted as `other`. Default 200. */
  maxTenants?: number;
  /** Distinct model names kept as label values; later ones are counted as `other`. Default 100. */
  maxModels?: number;
  /** Constant labels on every series (e.g. `{ instance: "a" }`). */
  defaultLabels?: Record<string, string>;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const UPSTREAM_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];

/** The sweeper's cumulative counters (src/lifecycle `Sweeper.stats()`), read at scrape time. */
export interface SweeperStatsSource {
  stats(): {
    runs: number;
    actions: Record<string, number>;
    skipped: number;
    errors: number;
    itemsRemoved: number;
    bytesFreed: number;
    lastRunAt: number | null;
    lastDurationMs: number | null;
  };
}

/** The turn engine's window cache counters (store/decorators/window-cache.ts `stats`), read at scrape time. */
export interface WindowCacheStatsSource {
  readonly hits: number;
  readonly misses: number;
  readonly extended: number;
  readonly bytes: number;
  readonly entries: number;
}

/** Sources read at scrape time; set by `observeSweeper`, `observeStorage` and `observeWindowCache`. */
export interface ScrapeSources {
  sweeper: SweeperStatsSource | null;
  storage: StorageTotalsSource | null;
  windowCache: WindowCacheStatsSource | null;
}

/** The registry and every instrument; pass it to `registerMetrics`, `withStoreMetrics`, … */
export interface HoldfastMetrics {
  readonly registry: Registry;
  readonly sources: ScrapeSources;
  readonly tenants: BoundedLabel;
  readonly models: BoundedLabel;
  /** Error codes of failed store and upstream calls (`outcome`), which drivers and providers choose. */
  readonly outcomes: BoundedLabel;
  readonly httpDuration: Histogram<"method" | "route" | "status_class">;
  readonly httpRateLimited: Counter<"route">;
  readonly storeDuration: Histogram<"driver" | "operation" | "outcome">;
  readonly storeConflicts: Counter<"driver" | "operation">;
  readonly storeReplays: Counter<"driver">;
  readonly upstreamDuration: Histogram<"upstream" | "outcome">;
  readonly upstreamTtft: Histogram<"upstream">;
  readonly upstreamAttempts: Counter<"upstream" | "outcome">;
  readonly upstreamRetries: Counter<"upstream">;
  readonly upstreamFailovers: Counter<"upstream">;
  readonly breakerState: Gauge<"upstream" | "state">;
  readonly breakerTransitions: Counter<"upstream" | "to">;
  readonly turns: Counter<"tenant" | "model">;
  readonly tokens: Counter<"tenant" | "model" | "direction">;
  readonly cost: Counter<"tenant" | "model">;
  /** The compaction share of `tokens` / `cost`, and its summarizer calls (`recordCompaction`). */
  readonly compactionCalls: Counter<"tenant" | "model">;
  readonly compactionTokens: Counter<"tenant" | "model" | "direction">;
  readonly compactionCost: Counter<"tenant" | "model">;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidArgumentError(
      `options.${name} must be a positive integer, got ${JSON.stringify(value)}.`,
      {
        param: name,
      },
    );
  }
  return v;
}

/** Distinct error codes kept per process; the typed codes of store and providers are far fewer. */
const MAX_OUTCOMES = 64;

/** Creates a fresh registry with every Holdfast metric registered on it. */
export function createMetrics(options: MetricsOptions = {}): HoldfastMetrics {
  const maxTenants = positiveInt(options.maxTenants, 200, "maxTenants");
  const maxModels = positiveInt(options.maxModels, 100, "maxModels");
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "holdfast_" });
  const registers = [registry];
  const sources: ScrapeSources = { sweeper: null, storage: null, windowCache: null };
  registerSweeperMetrics(registry, sources);
  registerWindowCacheMetrics(registry, sources);
  registerStorageGauges(registry, sources);
  return Object.freeze({
    registry,
    sources,
    tenants: new BoundedLabel(maxTenants),
    models: new BoundedLabel(maxModels),
    outcomes: new BoundedLabel(MAX_OUTCOMES),
    httpDuration: new Histogram({
      name: "holdfast_http_request_duration_seconds",
      help: "HTTP request duration by route pattern and status class.",
      labelNames: ["method", "route", "status_class"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    httpRateLimited: new Counter({
      name: "holdfast_http_rate_limited_total",
      help: "Requests refused with 429 by route pattern.",
      labelNames: ["route"] as const,
      registers,
    }),
    storeDuration: new Histogram({
      name: "holdfast_store_operation_duration_seconds",
      help: "SessionStore operation duration by driver, operation and outcome (ok or an error code).",
      labelNames: ["driver", "operation", "outcome"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    storeConflicts: new Counter({
      name: "holdfast_store_conflicts_total",
      help: "Store writes refused with a conflict (moved version, reused operation id).",
      labelNames: ["driver", "operation"] as const,
      registers,
    }),
    storeReplays: new Counter({
      name: "holdfast_store_idempotent_replays_total",
      help: "Appends answered from an earlier append with the same operation id.",
      labelNames: ["driver"] as const,
      registers,
    }),
    upstreamDuration: new Histogram({
      name: "holdfast_upstream_request_duration_seconds",
      help: "Duration of one upstream call (one attempt) by upstream and outcome.",
      labelNames: ["upstream", "outcome"] as const,
      buckets: UPSTREAM_BUCKETS,
      registers,
    }),
    upstreamTtft: new Histogram({
      name: "holdfast_upstream_time_to_first_token_seconds",
      help: "Time from a streamed upstream call to its first event.",
      labelNames: ["upstream"] as const,
      buckets: UPSTREAM_BUCKETS,
      registers,
    }),
    upstreamAttempts: new Counter({
      name: "holdfast_upstream_attempts_total",
      help: "Route targets tried, by upstream and outcome (ok or the error code after retries).",
      labelNames: ["upstream", "outcome"] as const,
      registers,
    }),
    upstreamRetries: new Counter({
      name: "holdfast_upstream_retries_total",
      help: "Retries against one upstream within a target attempt.",
      labelNames: ["upstream"] as const,
      registers,
    }),
    upstreamFailovers: new Counter({
      name: "holdfast_upstream_failovers_total",
      help: "Target attempts that failed with an error allowing fallback to the next target.",
      labelNames: ["upstream"] as const,
      registers,
    }),
    breakerState: new Gauge({
      name: "holdfast_upstream_breaker_state",
      help: "Circuit breaker state per upstream: 1 for the current state, 0 for the others.",
      labelNames: ["upstream", "state"] as const,
      registers,
    }),
    breakerTransitions: new Counter({
      name: "holdfast_upstream_breaker_transitions_total",
      help: "Circuit breaker state changes by upstream and new state.",
      labelNames: ["upstream", "to"] as const,
      registers,
    }),
    turns: new Counter({
      name: "holdfast_turns_total",
      help: "Committed turns by tenant and model.",
      labelNames: ["tenant", "model"] as const,
      registers,
    }),
    tokens: new Counter({
      name: "holdfast_tokens_total",
      help: "Tokens by tenant, model and direction (input, output, cached).",
      labelNames: ["tenant", "model", "direction"] as const,
      registers,
    }),
    cost: new Counter({
      name: "holdfast_cost_usd_total",
      help: "Upstream cost in US dollars by tenant and model.",
      labelNames: ["tenant", "model"] as const,
      registers,
    }),
    compactionCalls: new Counter({
      name: "holdfast_compaction_calls_total",
      help: "Summarizer model calls made by the gateway's compaction, by tenant and model.",
      labelNames: ["tenant", "model"] as const,
      registers,
    }),
    compactionTokens: new Counter({
      name: "holdfast_compaction_tokens_total",
      help: "Tokens of compaction's summarizer calls (also in holdfast_tokens_total) by tenant, model and direction.",
      labelNames: ["tenant", "model", "direction"] as const,
      registers,
    }),
    compactionCost: new Counter({
      name: "holdfast_compaction_cost_usd_total",
      help: "Cost of compaction's summarizer calls in US dollars (also in holdfast_cost_usd_total) by tenant and model.",
      labelNames: ["tenant", "model"] as const,
      registers,
    }),
  });
}

/**
 * A counter or gauge set at each scrape to what `read` gives of `source()` (no sample while it is
 * null): both kinds are reset, then a counter is incremented and a gauge set to the value.
 */
function mirrorMetric<S>(
  registry: Registry,
  kind: "counter" | "gauge",
  source: () => S | null,
  name: string,
  help: string,
  read: (s: S) => number,
): void {
  const value = (): number | null => {
    const s = source();
    return s ? read(s) : null;
  };
  const config = { name, help, registers: [registry] };
  if (kind === "counter") {
    new Counter({
      ...config,
      collect() {
        this.reset();
        const v = value();
        if (v !== null) this.inc(v);
      },
    });
    return;
  }
  new Gauge({
    ...config,
    collect() {
      this.reset();
      const v = value();
      if (v !== null) this.set(v);
    },
  });
}

/**
 * Window cache counters and gauges mirror the cache's stats at each scrape (absent until a cache
 * is observed). Hits over hits + misses is the share of turns that read no item from the store.
 */
function registerWindowCacheMetrics(registry: Registry, sources: ScrapeSources): void {
  const stats = (): WindowCacheStatsSource | null => sources.windowCache;
  const counter = (name: string, help: string, read: (s: WindowCacheStatsSource) => number): void =>
    mirrorMetric(registry, "counter", stats, name, help, read);
  const gauge = (name: string, help: string, read: (s: WindowCacheStatsSource) => number): void =>
    mirrorMetric(registry, "gauge", stats, name, help, read);
  counter(
    "holdfast_window_cache_hits_total",
    "Window reads answered from the in-process window cache.",
    (s) => s.hits,
  );
  counter(
    "holdfast_window_cache_misses_total",
    "Window reads that went to the store (no entry, or the session changed elsewhere).",
    (s) => s.misses,
  );
  counter(
    "holdfast_window_cache_extended_total",
    "Appends that extended a cached window in place.",
    (s) => s.extended,
  );
  gauge("holdfast_window_cache_bytes", "Item bytes held by the window cache.", (s) => s.bytes);
  gauge("holdfast_window_cache_entries", "Conversations whose window the cache holds.", (s) => s.entries);
}

/** Sweeper counters mirror `Sweeper.stats()` at each scrape (absent until a sweeper is observed). */
function registerSweeperMetrics(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry];
  const stats = (): ReturnType<SweeperStatsSource["stats"]> | null => sources.sweeper?.stats() ?? null;
  const mirror = (
    name: string,
    help: string,
    read: (s: ReturnType<SweeperStatsSource["stats"]>) => number,
  ): void => mirrorMetric(registry, "counter", stats, name, help, read);
  mirror("holdfast_sweeper_runs_total", "Sweeper runs (plans applied) by this process.", (s) => s.runs);
  mirror(
    "holdfast_sweeper_skipped_total",
    "Planned actions skipped because the session changed.",
    (s) => s.skipped,
  );
  mirror("holdfast_sweeper_errors_total", "Sweeper actions or runs that failed.", (s) => s.errors);
  mirror("holdfast_sweeper_items_removed_total", "Items removed by the sweeper.", (s) => s.itemsRemoved);
  mirror("holdfast_sweeper_freed_bytes_total", "Bytes freed by the sweeper.", (s) => s.bytesFreed);
  new Counter({
    name: "holdfast_sweeper_actions_total",
    help: "Sweeper actions done, by action (delete, archive, reset, purge_archive).",
    labelNames: ["action"] as const,
    registers,
    collect() {
      const s = stats();
      this.reset();
      for (const [action, n] of Object.entries(s?.actions ?? {})) this.inc({ action }, n);
    },
  });
  new Gauge({
    name: "holdfast_sweeper_last_run_timestamp_seconds",
    help: "When the last sweeper run finished (Unix seconds).",
    registers,
    collect() {
      const at = stats()?.lastRunAt;
      if (at != null) this.set(at / 1000);
    },
  });
  new Gauge({
    name: "holdfast_sweeper_last_run_duration_seconds",
    help: "Duration of the last sweeper run.",
    registers,
    collect() {
      const ms = stats()?.lastDurationMs;
      if (ms != null) this.set(ms / 1000);
    },
  });
}

/** Stored-data gauges from the cached storage totals (absent until `observeStorage`). */
function registerStorageGauges(registry: Registry, sources: ScrapeSources): void {
  const gauge = (name: string, help: string, read: (t: StorageTotals) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ["tenant"] as const,
      registers: [registry],
      async collect() {
        const totals = sources.storage ? await sources.storage.read() : null;
        this.reset();
        for (const [tenant, t] of totals ?? []) this.set({ tenant }, read(t));
      },
    });
  };
  gauge(
    "holdfast_sessions_active",
    "Visible sessions with status active, by tenant (refreshed at most every few seconds).",
    (t) => t.sessionsActive,
  );
  gauge("holdfast_items_stored", "Items held in the store, by tenant.", (t) => t.items);
  gauge("holdfast_bytes_stored", "Item and state bytes held in the store, by tenant.", (t) => t.bytes);
}
