/**
 * Retries with jittered exponential backoff ("full jitter"), honouring the upstream's retry-after.
 * Only errors that say they are retryable are retried (408/409/429/5xx, network, timeouts); a
 * cancelled request never is. Waits are cut short by the caller's abort signal.
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import { CancelledError, isProviderError } from "./errors.ts";

export interface RetryOptions {
  /** Retries after the first attempt. Default 2. */
  maxRetries: number;
  /** First backoff ceiling. Default 200 ms. */
  baseDelayMs: number;
  /** Largest backoff. Default 5,000 ms. */
  maxDelayMs: number;
  /**
   * A retry-after longer than this is not waited for: the error goes up so the router can fall
   * back instead. Default 10,000 ms.
   */
  maxRetryAfterMs: number;
}

/**
 * The longest delay a Node timer takes (about 24.8 days): a longer one fires after 1 ms instead,
 * so a huge timeout or backoff would time out or retry at once rather than wait.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The most retries a provider may make after the first attempt: each one holds the caller's turn
 * (and its session lock) for another backoff, so a larger count only turns an outage into a hang.
 */
const MAX_RETRIES = 10;

export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  maxRetries: 2,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 10_000,
});

/** Validates and freezes retry options, naming the bad option. */
export function retryOptions(input: Partial<RetryOptions> = {}, where = "retry"): Readonly<RetryOptions> {
  const options = { ...DEFAULT_RETRY, ...input };
  for (const key of Object.keys(DEFAULT_RETRY) as Array<keyof RetryOptions>) {
    const value = options[key];
    const max = key === "maxRetries" ? MAX_RETRIES : MAX_TIMER_MS;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new InvalidArgumentError(
        `${where}.${key} must be a non-negative integer${key === "maxRetries" ? ` of at most ${MAX_RETRIES}` : ` of at most ${MAX_TIMER_MS} ms`}, got ${JSON.stringify(value)}.`,
        {
          param: `${where}.${key}`,
        },
      );
    }
  }
  return Object.freeze(options);
}

/** The wait before retry number `attempt` (1-based): retry-after if given, else full jitter. */
export function backoffDelay(
  attempt: number,
  options: RetryOptions,
  retryAfterMs: number | null,
  random = Math.random,
): number {
  if (retryAfterMs !== null) return retryAfterMs;
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryHooks {
  signal?: AbortSignal | undefined;
  random?: () => number;
  /** Called before each wait (metrics, logs). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `attempt` until it succeeds, a non-retryable error occurs, or retries run out. */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions,
  hooks: RetryHooks = {},
): Promise<T> {
  for (let number = 0; ; number++) {
    try {
      return await attempt(number);
    } catch (error) {
      if (!isProviderError(error) || !error.retryable || number >= options.maxRetries) throw error;
      if (error.retryAfterMs !== null && error.retryAfterMs > options.maxRetryAfterMs) throw error;
      const delay = backoffDelay(number + 1, options, error.retryAfterMs, hooks.random);
      hooks.onRetry?.(error, number + 1, delay);
      await sleep(delay, hooks.signal);
    }
  }
}

/** A timer that is cleared on abort, so no timer outlives the request. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new CancelledError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
