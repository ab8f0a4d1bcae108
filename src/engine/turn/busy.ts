/**
 * The busy-conversation policy: two turns on one conversation never interleave. `queue` runs
 * them one after another (per conversation, in arrival order); `reject` answers the second
 * with 409 `conversation_busy`. This serializes turns within one instance; across instances
 * the store's version checks keep the transcript consistent (see docs/gateway.md).
 */
import { ConflictError } from "../../store/errors.ts";

export const BUSY_POLICIES = ["queue", "reject"] as const;
export type BusyPolicy = (typeof BUSY_POLICIES)[number];

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
   * then returns the release function. Call it exactly once, however the turn ends.
   */
  async acquire(key: string): Promise<() => void> {
    const previous = this.#tails.get(key);
    if (previous && this.#policy === "reject") {
      throw new ConflictError(
        "Another response is in progress on this conversation; retry when it completes.",
        {
          code: "conversation_busy",
          param: "conversation",
        },
      );
    }
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    if (previous) await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      // Only the newest holder removes the entry, so the map holds only busy keys.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
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
