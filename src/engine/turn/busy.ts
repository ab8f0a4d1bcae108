/**
 * The busy-conversation policy: two turns on one conversation never interleave. `queue` runs
 * them one after another (per conversation, in arrival order, waiting at most `maxWaitMs`);
 * `reject` answers the second with 409 `conversation_busy`.
 *
 * Two layers. Within one instance, `ConversationLocks` serializes turns in memory, so waiters
 * on the same instance never touch the store. Across instances, the store's turn claim (see
 * turn-claim.ts) is taken by the turn's input append and released by its output append.
 */
import { conversationBusy } from "../../store/errors.ts";

export const BUSY_POLICIES = ["queue", "reject"] as const;
export type BusyPolicy = (typeof BUSY_POLICIES)[number];

export interface BusySettings {
  policy: BusyPolicy;
  /** Lifetime of a turn's store claim; renewed every third of it while the turn runs. */
  claimTtlMs: number;
  /** Longest a queued turn waits for its turn (in this instance and across instances). */
  maxWaitMs: number;
}

export const BUSY_DEFAULTS: Readonly<BusySettings> = Object.freeze({
  policy: "queue",
  claimTtlMs: 15_000,
  maxWaitMs: 60_000,
});

/** Validated settings; throws RangeError naming the bad option. */
export function busySettings(options: Partial<BusySettings> = {}): BusySettings {
  const policy = options.policy ?? BUSY_DEFAULTS.policy;
  if (!BUSY_POLICIES.includes(policy)) {
    throw new RangeError(`busyPolicy must be one of ${BUSY_POLICIES.join(", ")} (got ${String(policy)}).`);
  }
  const ms = (value: number | undefined, fallback: number, name: string, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min || v > 86_400_000) {
      throw new RangeError(`${name} must be an integer of milliseconds from ${min} to 86400000 (got ${v}).`);
    }
    return v;
  };
  return {
    policy,
    claimTtlMs: ms(options.claimTtlMs, BUSY_DEFAULTS.claimTtlMs, "claimTtlMs", 100),
    maxWaitMs: ms(options.maxWaitMs, BUSY_DEFAULTS.maxWaitMs, "maxWaitMs", 0),
  };
}

/** The 409 of a queued turn that did not get its turn in time. */
export function queueTimeout(id: string, waitedMs: number): Error {
  return conversationBusy(
    id,
    `this turn waited ${waitedMs} ms for it without getting its turn; retry later (or raise gateway.busy_max_wait)`,
  );
}

export class ConversationLocks {
  readonly #policy: BusyPolicy;
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(policy: BusyPolicy) {
    if (!BUSY_POLICIES.includes(policy)) {
      throw new RangeError(`busyPolicy must be one of ${BUSY_POLICIES.join(", ")} (got ${String(policy)}).`);
    }
    this.#policy = policy;
  }

  /**
   * Waits until every earlier turn on `key` has released (or rejects at once under `reject`),
   * then returns the release function. Call it exactly once, however the turn ends. With
   * `deadline` (epoch ms), a waiter still queued then gives up with `conversation_busy`; its
   * place in the queue passes to the next waiter once the turns before it are done.
   */
  async acquire(key: string, deadline?: number, id = key): Promise<() => void> {
    const previous = this.#tails.get(key);
    if (previous && this.#policy === "reject") throw conversationBusy(id);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      release();
      // Only the newest holder removes the entry, so the map holds only busy keys.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    if (previous) {
      const started = Date.now();
      if (!(await waitUntil(previous, deadline))) {
        void previous.then(done);
        throw queueTimeout(id, Date.now() - started);
      }
    }
    return done;
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await work();
    } finally {
      release();
    }
  }

  get busy(): number {
    return this.#tails.size;
  }
}

/** Resolves true when `promise` settles before `deadline` (no deadline: waits), false otherwise. */
async function waitUntil(promise: Promise<unknown>, deadline: number | undefined): Promise<boolean> {
  if (deadline === undefined) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
