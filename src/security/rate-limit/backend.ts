/**
 * Token-bucket storage behind one interface. A check takes from several buckets at once (e.g.
 * per-key requests, per-key tokens, per-owner requests, per-owner tokens), all or nothing.
 * Buckets refill continuously: `capacity` tokens per minute, up to `capacity`.
 */

import { NANO_USD_PER_USD, toNanoUsd } from "../../nano-usd.ts";
import { InvalidArgumentError } from "../../store/errors.ts";

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
  /** Takes `cost` from every bucket, or from none and reports the short bucket that refills last, and when. */
  take(buckets: readonly BucketSpec[]): Promise<TakeResult>;
  /** Puts `delta` tokens back (negative: takes more, possibly below zero), capped at capacity. */
  adjust(bucket: BucketSpec, delta: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * An append-only spend total per tenant per UTC day, beside the buckets (both built-in backends
 * have one): what a daily spend cap reads. Nothing is ever taken off, so deleting the records a
 * turn wrote gives nothing back.
 */
export interface SpendCounter {
  /** Adds `usd` (finite, ≥ 0) to the tenant's total for `day` (`YYYY-MM-DD`, UTC). */
  addSpend(tenant: string, day: string, usd: number): Promise<void>;
  /** The tenant's total for `day`, 0 when nothing was added. */
  spentOn(tenant: string, day: string): Promise<number>;
}

export function isSpendCounter(backend: object): backend is SpendCounter {
  const candidate = backend as Partial<SpendCounter>;
  return typeof candidate.addSpend === "function" && typeof candidate.spentOn === "function";
}

/**
 * Spend is summed in integer nano-dollars, not in floating-point dollars: adding 0.1 ten times
 * gives exactly 1, however many turns a day has (a float sum drifts). Each turn is rounded to
 * the nearest nano-dollar; a total stays exact up to ~9 million USD per tenant per day.
 */
export const SPEND_UNITS_PER_USD = NANO_USD_PER_USD;

/** `usd` in the counters' integer unit; a negative or non-finite amount is refused (spend is only ever added). */
export function spendUnits(usd: number): number {
  if (!Number.isFinite(usd) || usd < 0) {
    throw new InvalidArgumentError(`A spend must be a finite number of at least 0 (got ${usd}).`, {
      param: "usd",
    });
  }
  return toNanoUsd(usd);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Refuses a day that is not `YYYY-MM-DD` (it names a counter, in memory or in a Redis key). */
export function checkSpendDay(day: string): string {
  if (typeof day !== "string" || !DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new InvalidArgumentError(
      `A spend day must be a UTC date as YYYY-MM-DD (got ${JSON.stringify(day)}).`,
      {
        param: "day",
      },
    );
  }
  return day;
}

/** The UTC day of `ms` as `YYYY-MM-DD`: the spend counters' day. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Refill rate in tokens per millisecond for a per-minute capacity. */
export function ratePerMs(capacity: number): number {
  return capacity / 60_000;
}
