/** `observeSweeper(sweeper, metrics)`: the `holdfast_sweeper_*` metrics read the sweeper's stats at each scrape. */
import type { HoldfastMetrics, SweeperStatsSource } from "./create-metrics.ts";

/** Points the sweeper metrics at `sweeper` (one sweeper per registry); returns a function that detaches it. */
export function observeSweeper(sweeper: SweeperStatsSource, metrics: HoldfastMetrics): () => void {
  metrics.sources.sweeper = sweeper;
  return () => {
    if (metrics.sources.sweeper === sweeper) metrics.sources.sweeper = null;
  };
}
