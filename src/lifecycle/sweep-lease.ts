/**
 * The sweeper's lease, so exactly one instance sweeps at a time: taken before a plan is applied,
 * kept alive every third of its TTL (between batches, during pauses and while a batch runs),
 * released at the end. A crashed sweeper's lease expires after its TTL.
 */
import type { LifecycleCapable, StoreDriver } from "../store/driver.ts";
import { ConflictError } from "../store/errors.ts";

/** Raised when another sweeper holds the lease (CLI exit code 6, HTTP 409). */
export class LeaseHeldError extends ConflictError {
  constructor(name: string) {
    super(`Another sweeper holds the '${name}' lease; retry once it finishes (or its lease expires).`, {
      code: "lease_conflict",
    });
  }
}

export interface LeaseTerms {
  name: string;
  holder: string;
  ttlMs: number;
  /** Epoch ms: the lease clock. */
  clock: () => number;
}

/** A lease this sweeper holds for the length of one `apply`. */
export class SweepLease {
  readonly #driver: StoreDriver & LifecycleCapable;
  readonly #terms: LeaseTerms;
  readonly #onLost: () => void;
  #renewedAt: number;
  #renewing: Promise<boolean> | null = null;
  #lost = false;

  /** Takes the lease; null when another holder has it. `onLost` runs once if a renewal fails. */
  static async acquire(
    driver: StoreDriver & LifecycleCapable,
    terms: LeaseTerms,
    onLost: () => void,
  ): Promise<SweepLease | null> {
    if (!(await driver.acquireLease(terms.name, terms.holder, terms.ttlMs, terms.clock()))) return null;
    return new SweepLease(driver, terms, onLost);
  }

  constructor(driver: StoreDriver & LifecycleCapable, terms: LeaseTerms, onLost: () => void) {
    this.#driver = driver;
    this.#terms = terms;
    this.#onLost = onLost;
    this.#renewedAt = terms.clock();
  }

  /** How often the lease is renewed: a third of its TTL, so one slow renewal does not lose it. */
  get renewEveryMs(): number {
    return this.#terms.ttlMs / 3;
  }

  /**
   * Renews the lease once a third of it has passed; false once lost (another sweeper took it).
   * Callers racing (the in-batch heartbeat and the batch loop) share one renewal.
   */
  keep(): Promise<boolean> {
    if (this.#lost) return Promise.resolve(false);
    if (this.#terms.clock() - this.#renewedAt < this.renewEveryMs) return Promise.resolve(true);
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  /**
   * Runs a batch while renewing the lease every third of its TTL: one batch can outlast the lease
   * (200 archives of big sessions on a loaded store), and a lease expired mid-batch let a second
   * sweeper start while this one was still applying. A renewal that fails here is reported by the
   * loop's next `keep()`.
   */
  async during<T>(run: () => Promise<T>): Promise<T> {
    const heartbeat = setInterval(() => {
      this.keep().catch(() => {});
    }, this.renewEveryMs);
    try {
      return await run();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Gives the lease up, unless it was lost: it is then another sweeper's to release. */
  async release(): Promise<void> {
    if (!this.#lost) await this.#driver.releaseLease(this.#terms.name, this.#terms.holder);
  }

  async #renew(): Promise<boolean> {
    const { name, holder, ttlMs, clock } = this.#terms;
    if (await this.#driver.renewLease(name, holder, ttlMs, clock())) {
      this.#renewedAt = clock();
      return true;
    }
    this.#lost = true;
    this.#onLost();
    return false;
  }
}
