/**
 * In-process token buckets, bounded by LRU eviction (an evicted bucket restarts full), and the
 * daily spend totals (one number per tenant per day, only the latest days kept).
 */
import { ByteLru } from "../../store/decorators/lru-bytes.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import {
  type BucketSpec,
  checkSpendDay,
  type RateLimitBackend,
  ratePerMs,
  SPEND_UNITS_PER_USD,
  type SpendCounter,
  spendUnits,
  type TakeResult,
} from "./backend.ts";

interface Bucket {
  tokens: number;
  at: number;
}

export interface MemoryRateLimitOptions {
  /** Most buckets kept (default 100 000); the least recently used goes first. */
  maxKeys?: number;
  clock?: () => number;
}

export function createMemoryRateLimitBackend(
  options: MemoryRateLimitOptions = {},
): RateLimitBackend & SpendCounter {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new InvalidArgumentError("maxKeys must be a positive integer.", { param: "maxKeys" });
  }
  const clock = options.clock ?? Date.now;
  // One "byte" per bucket: at most maxKeys. Buckets are refilled in place and a hit only moves
  // the bucket in the recency list, so a request allocates nothing here (see lru-bytes.ts).
  let buckets = new ByteLru<Bucket>(maxKeys);
  // Day → tenant → nano-dollars. Not LRU-bounded: evicting a total would give its spend back.
  // One entry per tenant that spent, and only the newest day and the one before are kept.
  const spend = new Map<string, Map<string, number>>();

  function prunePastDays(day: string): void {
    const yesterday = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    for (const kept of spend.keys()) if (kept < yesterday) spend.delete(kept);
  }

  function level(spec: BucketSpec, now: number): Bucket {
    const found = buckets.get(spec.key);
    if (found) {
      const refill = Math.max(0, now - found.at) * ratePerMs(spec.capacity);
      found.tokens = Math.min(spec.capacity, found.tokens + refill);
      found.at = now;
      return found;
    }
    const fresh = { tokens: spec.capacity, at: now };
    buckets.set(spec.key, fresh, 1);
    return fresh;
  }

  return Object.freeze({
    name: "memory",
    async take(specs: readonly BucketSpec[]): Promise<TakeResult> {
      const now = clock();
      const levels = specs.map((spec) => level(spec, now));
      // Every short bucket is looked at: the refusal names the one that refills last, or a client
      // retrying after the first one's wait would be refused again by the next.
      let short: { index: number; retryAfterMs: number } | null = null;
      for (const [index, spec] of specs.entries()) {
        const bucket = levels[index] as Bucket;
        if (bucket.tokens < spec.cost) {
          const retryAfterMs = Math.ceil((spec.cost - bucket.tokens) / ratePerMs(spec.capacity));
          if (short === null || retryAfterMs > short.retryAfterMs) short = { index, retryAfterMs };
        }
      }
      if (short !== null) return { ok: false, ...short };
      for (const [index, spec] of specs.entries()) (levels[index] as Bucket).tokens -= spec.cost;
      return { ok: true };
    },
    async adjust(spec: BucketSpec, delta: number): Promise<void> {
      const bucket = level(spec, clock());
      bucket.tokens = Math.min(spec.capacity, bucket.tokens + delta);
    },
    async addSpend(tenant: string, day: string, usd: number): Promise<void> {
      const units = spendUnits(usd);
      if (units === 0) return;
      let totals = spend.get(checkSpendDay(day));
      if (!totals) {
        prunePastDays(day);
        totals = new Map();
        spend.set(day, totals);
      }
      totals.set(tenant, (totals.get(tenant) ?? 0) + units);
    },
    async spentOn(tenant: string, day: string): Promise<number> {
      return (spend.get(checkSpendDay(day))?.get(tenant) ?? 0) / SPEND_UNITS_PER_USD;
    },
    async close(): Promise<void> {
      buckets = new ByteLru<Bucket>(maxKeys);
      spend.clear();
    },
  });
}
