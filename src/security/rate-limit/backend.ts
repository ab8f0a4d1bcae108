/**
 * Token-bucket storage behind one interface. A check takes from several buckets at once (e.g.
 * per-key requests, per-key tokens, per-owner requests, per-owner tokens), all or nothing.
 * Buckets refill continuously: `capacity` tokens per minute, up to `capacity`.
 */

export interface BucketSpec {
  /** Backend key; all buckets of one check share a tenant, so they can share a Cluster slot. */
  key: string;
  /** Bucket size, and tokens refilled per minute. */
  capacity: number;
  /** Tokens this check takes (0 ≤ cost ≤ capacity). */
  cost: number;
}

export type TakeResult = { ok: true } | { ok: false; index: number; retryAfterMs: number };

export interface RateLimitBackend {
  readonly name: string;
  /** Takes `cost` from every bucket, or from none and reports the first that is short and when it will not be. */
  take(buckets: readonly BucketSpec[]): Promise<TakeResult>;
  /** Puts `delta` tokens back (negative: takes more, possibly below zero), capped at capacity. */
  adjust(bucket: BucketSpec, delta: number): Promise<void>;
  close(): Promise<void>;
}

/** Refill rate in tokens per millisecond for a per-minute capacity. */
export function ratePerMs(capacity: number): number {
  return capacity / 60_000;
}
