/**
 * Appends issued in the same tick travel to standalone Redis as a few script calls
 * (APPEND_BATCH in redis-append-scripts.ts, up to MAX_BATCH_APPENDS appends each) instead of one
 * `EVALSHA` each. These calls bypass ioredis' auto-pipelining (redis-connect.ts), which keeps
 * one pipeline in flight at a time: each is written to the socket at once, so several are in
 * flight together. Every append in a batch keeps its own keys, checks and reply, and runs
 * exactly as it would in its own script; only the per-command cost is shared (ioredis spends
 * ~10 µs of client CPU per command, Redis a few µs per script call). Calls on one connection
 * run in the order they were written, so appends to one session keep their order. Not used on
 * Cluster, where different sessions live in different slots and one script may only touch one
 * slot.
 */
import type { SessionKeys } from "./redis-keys.ts";
import type { Arg, Reply } from "./redis-replica.ts";

/**
 * Most appends per script call. A call leaves as soon as it is full, while later callers of
 * the same tick are still being prepared, so Redis runs one call while Node encodes the next
 * and decodes the last (overlap instead of alternation); small calls also keep the Redis event
 * loop free for other clients.
 */
export const MAX_BATCH_APPENDS = 8;
/** Most arguments per script call; an append bigger than this goes alone. */
export const MAX_BATCH_ARGS = 4096;

interface Pending {
  keys: SessionKeys;
  args: Arg[];
  /** A turn claim's holder, until, release ('1' or ''), or null for a plain append. */
  claim: Arg[] | null;
  resolve: (reply: Reply) => void;
  reject: (error: unknown) => void;
}

/** How the batcher reaches Redis: the one-append script and the batch script. */
export interface AppendBatchRunner {
  /** One append: `hfAppend`, or `hfAppendClaimed` (claim triple first) when `claim` is given. */
  one(keys: SessionKeys, args: Arg[], claim: Arg[] | null): Promise<Reply>;
  /** `keys`: 5 per append; `args`: the count, then each append's arguments. Replies in order. */
  many(keys: string[], args: Arg[]): Promise<Reply[]>;
  /** Same, each append's arguments led by its claim triple (`''` holder: no claim). */
  manyClaimed(keys: string[], args: Arg[]): Promise<Reply[]>;
}

const NO_CLAIM: readonly Arg[] = ["", "", ""];

/** The reply of one append that failed inside the batch script, as the error ioredis would raise. */
function replyError(message: string): Error {
  const error = new Error(message);
  error.name = "ReplyError";
  return error;
}

/** Collects the appends of one tick and sends them as few script calls as the limits allow. */
export class AppendBatcher {
  readonly #runner: AppendBatchRunner;
  #queue: Pending[] = [];
  #queuedArgs = 0;

  constructor(runner: AppendBatchRunner) {
    this.#runner = runner;
  }

  /**
   * Queues one append (keys and arguments exactly as for `hfAppend`, plus the claim triple of
   * `hfAppendClaimed` for a turn's claimed append); resolves with its reply.
   */
  submit(keys: SessionKeys, args: Arg[], claim: Arg[] | null = null): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.#queue.push({ keys, args, claim, resolve, reject });
      this.#queuedArgs += args.length + 3;
      if (this.#queue.length >= MAX_BATCH_APPENDS || this.#queuedArgs >= MAX_BATCH_ARGS) this.flush();
      else if (this.#queue.length === 1) process.nextTick(() => this.flush());
    });
  }

  /** Sends whatever is queued now (close() calls it so nothing queued is left behind). */
  flush(): void {
    if (this.#queue.length === 0) return;
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedArgs = 0;
    let batch: Pending[] = [];
    let args = 0;
    for (const pending of queue) {
      const size = pending.args.length + 3;
      if (batch.length > 0 && (batch.length >= MAX_BATCH_APPENDS || args + size > MAX_BATCH_ARGS)) {
        this.#send(batch);
        batch = [];
        args = 0;
      }
      batch.push(pending);
      args += size;
    }
    if (batch.length > 0) this.#send(batch);
  }

  #send(batch: Pending[]): void {
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      this.#runner.one(only.keys, only.args, only.claim).then(only.resolve, only.reject);
      return;
    }
    // Plain ticks keep the plain batch script; a tick with a turn's claimed append uses the one
    // whose appends each carry a claim triple.
    const claimed = batch.some((p) => p.claim !== null);
    const keys: string[] = [];
    const args: Arg[] = [batch.length];
    for (const pending of batch) {
      keys.push(...pending.keys);
      if (claimed) for (const arg of pending.claim ?? NO_CLAIM) args.push(arg);
      for (const arg of pending.args) args.push(arg);
    }
    (claimed ? this.#runner.manyClaimed(keys, args) : this.#runner.many(keys, args)).then(
      (replies) => {
        batch.forEach((pending, i) => {
          const reply = replies[i];
          if (!Array.isArray(reply)) pending.reject(replyError("The batched append returned no reply."));
          else if (String(reply[0]) === "err") pending.reject(replyError(String(reply[1])));
          else pending.resolve(reply);
        });
      },
      (error: unknown) => {
        for (const pending of batch) pending.reject(error);
      },
    );
  }
}
