/**
 * Upstream health for the dashboard: breaker state from the router and latency percentiles
 * estimated from the `holdfast_upstream_request_duration_seconds` histogram buckets.
 */
import type { HoldfastMetrics } from "../observability/create-metrics.ts";

export interface UpstreamHealth {
  name: string;
  breaker: string;
  calls: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Anything that reports breaker states by upstream name (the provider router does). */
export interface BreakerSource {
  breakerStates(): Record<string, string>;
}

/** The value below which `q` of the observations fall, interpolated inside its bucket. */
export function quantile(buckets: ReadonlyArray<{ le: number; count: number }>, q: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      const inBucket = count - prevCount;
      return inBucket === 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** Health rows for every upstream the router or the metrics know. */
export async function upstreamHealth(
  metrics: HoldfastMetrics | undefined,
  breakers: BreakerSource | undefined,
): Promise<UpstreamHealth[]> {
  const states = breakers?.breakerStates() ?? {};
  const perUpstream = new Map<string, { buckets: Map<number, number>; calls: number; errors: number }>();
  if (metrics) {
    const data = await metrics.upstreamDuration.get();
    for (const v of data.values) {
      const upstream = String(v.labels.upstream ?? "");
      const entry = perUpstream.get(upstream) ?? { buckets: new Map(), calls: 0, errors: 0 };
      perUpstream.set(upstream, entry);
      if (v.metricName?.endsWith("_bucket")) {
        // prom-client adds `le` to bucket values though the label type does not list it.
        const raw = (v.labels as Record<string, string | number | undefined>).le;
        const le = raw === "+Inf" ? Number.POSITIVE_INFINITY : Number(raw);
        entry.buckets.set(le, (entry.buckets.get(le) ?? 0) + v.value);
      } else if (v.metricName?.endsWith("_count")) {
        entry.calls += v.value;
        if (v.labels.outcome !== "ok") entry.errors += v.value;
      }
    }
  }
  const names = new Set([...Object.keys(states), ...perUpstream.keys()]);
  return [...names].sort().map((name) => {
    const entry = perUpstream.get(name);
    const buckets = entry
      ? [...entry.buckets].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }))
      : [];
    return {
      name,
      breaker: states[name] ?? "unknown",
      calls: entry?.calls ?? 0,
      errors: entry?.errors ?? 0,
      p50: quantile(buckets, 0.5),
      p95: quantile(buckets, 0.95),
      p99: quantile(buckets, 0.99),
    };
  });
}
