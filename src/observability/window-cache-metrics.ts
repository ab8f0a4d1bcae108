/** `observeWindowCache(stats, metrics)`: the `holdfast_window_cache_*` metrics read the cache's stats at each scrape. */
import type { HoldfastMetrics, WindowCacheStatsSource } from "./create-metrics.ts";

/** Points the window cache metrics at a cache's live `stats` object; returns a function that detaches it. */
export function observeWindowCache(stats: WindowCacheStatsSource, metrics: HoldfastMetrics): () => void {
  metrics.sources.windowCache = stats;
  return () => {
    if (metrics.sources.windowCache === stats) metrics.sources.windowCache = null;
  };
}
