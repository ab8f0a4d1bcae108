/**
 * Money added up in integer nano-dollars: a float sum of 0.1 and 0.2 USD is 0.30000000000000004,
 * an integer sum of their nano-dollars divided once is 0.3. Used by the usage ledger's totals, a
 * turn's compaction tally and the rate limiter's daily spend counters alike, so every place that
 * sums a tenant's money rounds the same way.
 */

/** Nano-dollars per US dollar. */
export const NANO_USD_PER_USD = 1e9;

/** `usd` in whole nano-dollars (rounded to the nearest). */
export function toNanoUsd(usd: number): number {
  return Math.round(usd * NANO_USD_PER_USD);
}

/** Whole nano-dollars back in US dollars: the nearest double to the 9-decimal amount. */
export function fromNanoUsd(nanoUsd: number): number {
  return nanoUsd / NANO_USD_PER_USD;
}
