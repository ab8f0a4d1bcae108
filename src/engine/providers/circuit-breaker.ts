/**
 * A circuit breaker per upstream. Closed: requests flow; `failureThreshold` consecutive failures
 * open it. Open: requests are refused for `openMs`. Half-open: up to `halfOpenMaxCalls` trial
 * requests; `successThreshold` successes close it, any failure opens it again. Only system faults
 * count (a 400 or a cancel says nothing about the upstream's health).
 */
import { EventEmitter } from "node:events";
import { InvalidArgumentError } from "../../store/errors.ts";

export type BreakerState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold: number;
  /** How long the circuit stays open before trial requests. Default 10,000 ms. */
  openMs: number;
  /** Successes in half-open that close it. Default 1. */
  successThreshold: number;
  /** Concurrent trial requests in half-open. Default 1. */
  halfOpenMaxCalls: number;
}

export const DEFAULT_BREAKER: Readonly<CircuitBreakerOptions> = Object.freeze({
  failureThreshold: 5,
  openMs: 10_000,
  successThreshold: 1,
  halfOpenMaxCalls: 1,
});

export function breakerOptions(
  input: Partial<CircuitBreakerOptions> = {},
  where = "breaker",
): Readonly<CircuitBreakerOptions> {
  const options = { ...DEFAULT_BREAKER, ...input };
  for (const key of Object.keys(DEFAULT_BREAKER) as Array<keyof CircuitBreakerOptions>) {
    const value = options[key];
    const min = key === "openMs" ? 0 : 1;
    if (!Number.isInteger(value) || value < min) {
      throw new InvalidArgumentError(
        `${where}.${key} must be an integer >= ${min}, got ${JSON.stringify(value)}.`,
        {
          param: `${where}.${key}`,
        },
      );
    }
  }
  return Object.freeze(options);
}

export interface BreakerTransition {
  name: string;
  from: BreakerState;
  to: BreakerState;
}

/** Emits `state` with a `BreakerTransition` on every change. */
export class CircuitBreaker extends EventEmitter<{ state: [BreakerTransition] }> {
  readonly name: string;
  readonly options: Readonly<CircuitBreakerOptions>;
  #state: BreakerState = "closed";
  #failures = 0;
  #successes = 0;
  #openedAt = 0;
  #trials = 0;
  #now: () => number;

  constructor(name: string, options: Partial<CircuitBreakerOptions> = {}, now: () => number = Date.now) {
    super();
    this.name = name;
    this.options = breakerOptions(options);
    this.#now = now;
  }

  /** The current state; an open circuit whose time is up reads as half-open. */
  get state(): BreakerState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.options.openMs)
      this.#move("half-open");
    return this.#state;
  }

  /** Asks to send a request; `true` reserves a slot (then call `onSuccess` or `onFailure` exactly once). */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.#trials >= this.options.halfOpenMaxCalls) return false;
    this.#trials++;
    return true;
  }

  onSuccess(): void {
    if (this.#state === "half-open") {
      this.#trials = Math.max(0, this.#trials - 1);
      if (++this.#successes >= this.options.successThreshold) this.#move("closed");
      return;
    }
    this.#failures = 0;
  }

  onFailure(): void {
    if (this.#state === "half-open") {
      this.#trials = Math.max(0, this.#trials - 1);
      this.#open();
      return;
    }
    if (this.#state === "closed" && ++this.#failures >= this.options.failureThreshold) this.#open();
  }

  /** Releases a reserved slot without judging the upstream (caller errors, cancels). */
  onNeutral(): void {
    if (this.#state === "half-open") this.#trials = Math.max(0, this.#trials - 1);
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#move("open");
  }

  #move(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#failures = 0;
    this.#successes = 0;
    if (to !== "half-open") this.#trials = 0;
    if (from !== to) this.emit("state", { name: this.name, from, to });
  }
}
