/** In-process token buckets, bounded by LRU eviction (an evicted bucket restarts full). */
import { ByteLru } from "../../store/decorators/lru-bytes.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import { type BucketSpec, type RateLimitBackend, ratePerMs, type TakeResult } from "./backend.ts";

interface Bucket {
  tokens: number;
  at: number;
}

export interface MemoryRateLimitOptions {
  /** Most buckets kept (default 100 000); the least recently used goes first. */
  maxKeys?: number;
  clock?: () => number;
}

export function createMemoryRateLimitBackend(options: MemoryRateLimitOptions = {}): RateLimitBackend {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new InvalidArgumentError("maxKeys must be a positive integer.", { param: "maxKeys" });
  }
  const clock = options.clock ?? Date.now;
  // One "byte" per bucket: at most maxKeys. Buckets are refilled in place and a hit only moves
  // the bucket in the recency list, so a request allocates nothing here (see lru-bytes.ts).
  let buckets = new ByteLru<Bucket>(maxKeys);

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
      for (const [index, spec] of specs.entries()) {
        const bucket = levels[index] as Bucket;
        if (bucket.tokens < spec.cost) {
          return {
            ok: false,
            index,
            retryAfterMs: Math.ceil((spec.cost - bucket.tokens) / ratePerMs(spec.capacity)),
          };
        }
      }
      for (const [index, spec] of specs.entries()) (levels[index] as Bucket).tokens -= spec.cost;
      return { ok: true };
    },
    async adjust(spec: BucketSpec, delta: number): Promise<void> {
      const bucket = level(spec, clock());
      bucket.tokens = Math.min(spec.capacity, bucket.tokens + delta);
    },
    async close(): Promise<void> {
      buckets = new ByteLru<Bucket>(maxKeys);
    },
  });
}
