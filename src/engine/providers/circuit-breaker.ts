/**
 * A circuit breaker per upstream. Closed: requests flow; `failureThreshold` consecutive failures
 * open it. Open: requests are refused for `openMs`. Half-open: up to `halfOpenMaxCalls` trial
 * requests; `successThreshold` successes close it, any failure opens it again. Only system faults
 * count (a 400 or a cancel says nothing about the upstream's health).
 *
 * Every `tryAcquire` hands out a ticket stamped with the breaker's generation (bumped on every state
 * change); the outcome is reported with that ticket, once. An outcome whose ticket is from an
 * earlier generation is stale and ignored: a request that started before the circuit opened neither
 * frees nor settles the half-open probe, and a late failure from an earlier closed period does not
 * count toward opening the current one (the failures that opened it were already counted).
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

/** A reserved slot: report its outcome once with `onSuccess`, `onFailure` or `onCancel`. */
export interface BreakerTicket {
  /** The breaker's generation when the slot was reserved. */
  readonly generation: number;
  /** The state the slot was reserved in (`half-open`: a trial request). */
  readonly state: "closed" | "half-open";
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
  #generation = 0;
  /** Tickets handed out and not yet reported. */
  #outstanding = new WeakSet<BreakerTicket>();
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

  /** Asks to send a request; a ticket reserves a slot (report its outcome once), `undefined` refuses. */
  tryAcquire(): BreakerTicket | undefined {
    const state = this.state;
    if (state === "open") return undefined;
    if (state === "half-open") {
      if (this.#trials >= this.options.halfOpenMaxCalls) return undefined;
      this.#trials++;
    }
    const ticket: BreakerTicket = Object.freeze({ generation: this.#generation, state });
    this.#outstanding.add(ticket);
    return ticket;
  }

  onSuccess(ticket: BreakerTicket): void {
    if (!this.#current(ticket)) return;
    if (this.#state === "half-open") {
      this.#trials = Math.max(0, this.#trials - 1);
      if (++this.#successes >= this.options.successThreshold) this.#move("closed");
      return;
    }
    this.#failures = 0;
  }

  onFailure(ticket: BreakerTicket): void {
    if (!this.#current(ticket)) return;
    if (this.#state === "half-open") {
      this.#trials = Math.max(0, this.#trials - 1);
      this.#open();
      return;
    }
    if (this.#state === "closed" && ++this.#failures >= this.options.failureThreshold) this.#open();
  }

  /** Releases a reserved slot without judging the upstream (caller errors, cancels). */
  onCancel(ticket: BreakerTicket): void {
    if (!this.#current(ticket)) return;
    if (this.#state === "half-open") this.#trials = Math.max(0, this.#trials - 1);
  }

  /** Consumes the ticket; `true` when it was outstanding and is from the current generation. */
  #current(ticket: BreakerTicket): boolean {
    if (!this.#outstanding.delete(ticket)) return false;
    return ticket.generation === this.#generation;
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#move("open");
  }

  #move(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    if (from !== to) this.#generation++;
    this.#failures = 0;
    this.#successes = 0;
    if (to !== "half-open") this.#trials = 0;
    if (from !== to) this.emit("state", { name: this.name, from, to });
  }
}
