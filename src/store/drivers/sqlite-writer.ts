/**
 * One writer with group commit. Every write is a synchronous job; all jobs queued within one
 * macrotask run inside ONE `BEGIN IMMEDIATE … COMMIT`, each inside its own SAVEPOINT so a job
 * that throws (conflict, not_found) rolls back only itself. Promises settle only after COMMIT
 * succeeded, so a resolved write is durable.
 *
 * Another process holding the write lock shows up as SQLITE_BUSY. The busy timeout is kept
 * small (the event loop is blocked while SQLite waits), and the whole batch is retried
 * asynchronously with jittered backoff until a deadline, then rejected with `unavailable`.
 * Because a batch is only ever run synchronously from BEGIN to COMMIT, retrying it re-reads
 * every version and idempotency record inside the new transaction: a race surfaces as
 * `conflict`, never as a lost write.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { isHoldfastError, UnavailableError } from "../errors.ts";
import { rollbackIfOpen } from "./sqlite-compat.ts";
import type { WriteGate } from "./sqlite-write-gate.ts";

interface Job {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  ok: boolean;
  value: unknown;
}

/** Limits of the group-commit writer (validated by the driver). */
export interface WriterOptions {
  /** Give up on a busy database after this many milliseconds. */
  busyDeadlineMs: number;
  /** Most jobs per transaction; the rest wait for the next one. */
  maxBatch: number;
  /** Hands the write lock over with this process's purge worker (sqlite-write-gate.ts). */
  gate?: WriteGate;
}

/**
 * How long the writer waits for the purge worker's COMMIT before going to SQLite's own lock
 * anyway (a purge transaction lasts a few ms; this only bounds a stuck worker).
 */
const GATE_PATIENCE_MS = 1000;

/** SQLITE_BUSY (5) and SQLITE_LOCKED (6), including their extended codes. */
export function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === "number" && ((code & 0xff) === 5 || (code & 0xff) === 6);
}

/** Full-jitter exponential backoff: 1 ms, 2 ms, 4 ms … capped at 50 ms. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(50, 2 ** attempt);
}

/** The `unavailable` error for a lock that outlived the deadline. */
export function busyError(cause: unknown, deadlineMs: number): UnavailableError {
  return new UnavailableError(
    `The SQLite database stayed locked by another process for ${deadlineMs} ms; retry the request.`,
    { cause },
  );
}

/**
 * A SQLite failure that is not the caller's fault (disk full, I/O error, corrupt file) becomes
 * `unavailable` with the SQLite error as its cause; typed store errors pass through.
 */
export function toStoreError(error: unknown): unknown {
  if (isHoldfastError(error)) return error;
  const sqlite = error as { errcode?: unknown; errstr?: unknown; message?: unknown };
  if (typeof sqlite.errcode !== "number") return error;
  return new UnavailableError(`The SQLite store failed: ${String(sqlite.message ?? sqlite.errstr)}.`, {
    cause: error,
  });
}

/**
 * Runs `attempt` synchronously; while it fails with SQLITE_BUSY, waits (without blocking the
 * event loop) and tries again until the deadline.
 */
export async function retryBusy<T>(attempt: () => T, deadlineMs: number): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let n = 0; ; n++) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error)) throw toStoreError(error);
      if (Date.now() >= deadline) throw busyError(error, deadlineMs);
      await sleep(backoffMs(n));
    }
  }
}

/** Queues synchronous write jobs and commits each macrotask's jobs in one transaction. */
export class GroupCommitWriter {
  readonly #db: DatabaseSync;
  readonly #options: WriterOptions;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;
  #queue: Job[] = [];
  #scheduled = false;
  #flushing: Promise<void> | null = null;
  #closed = false;

  constructor(db: DatabaseSync, options: WriterOptions) {
    this.#db = db;
    this.#options = options;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#savepoint = db.prepare("SAVEPOINT job");
    this.#release = db.prepare("RELEASE job");
    this.#rollbackTo = db.prepare("ROLLBACK TO job");
  }

  /** Queues a synchronous write; resolves with its result once its transaction committed. */
  write<T>(run: () => T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new UnavailableError("The SQLite store is closed; open a new one."));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        run,
        resolve: resolve as (v: unknown) => void,
        reject,
        ok: false,
        value: undefined,
      });
      this.#options.gate?.want();
      this.#schedule();
    });
  }

  /** Waits for every queued write to settle, then refuses new ones. */
  async close(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing || this.#scheduled) {
      await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    }
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = null;
        if (this.#queue.length > 0) this.#schedule();
        else this.#options.gate?.idle();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#options.maxBatch);
    const deadline = Date.now() + this.#options.busyDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      const gated = await this.#enterGate();
      let committed = false;
      let failed: unknown;
      try {
        this.#runBatch(batch);
        committed = true;
      } catch (error) {
        failed = error;
      } finally {
        // Released before any backoff sleep: the purge may use the pause.
        if (gated) this.#options.gate?.leave();
      }
      if (committed) break;
      if (isBusy(failed) && Date.now() < deadline) {
        await sleep(backoffMs(attempt));
        continue;
      }
      const failure = isBusy(failed) ? busyError(failed, this.#options.busyDeadlineMs) : toStoreError(failed);
      for (const job of batch) job.reject(failure);
      return;
    }
    for (const job of batch) {
      if (job.ok) job.resolve(job.value);
      else job.reject(job.value);
    }
  }

  /**
   * Takes the in-process write gate, waiting without blocking the event loop while the purge
   * worker is inside a transaction (it commits as soon as it sees `want`). False without a gate
   * or after GATE_PATIENCE_MS: SQLite's own lock still serialises the two connections.
   */
  async #enterGate(): Promise<boolean> {
    const gate = this.#options.gate;
    if (!gate) return false;
    const deadline = performance.now() + GATE_PATIENCE_MS;
    while (!gate.tryEnter()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      // Atomics.waitAsync holds no reference on the event loop: without a timer, a process whose
      // only other thread is the (unreferenced) checkpointer would exit with the write pending.
      const alive = setTimeout(() => {}, left);
      try {
        await gate.released(left);
      } finally {
        clearTimeout(alive);
      }
    }
    return true;
  }

  /** One transaction, synchronously from BEGIN to COMMIT; throws (rolled back) only for the batch. */
  #runBatch(batch: Job[]): void {
    // A lone job needs no savepoint: if it fails, rolling back the transaction undoes just it.
    const nested = batch.length > 1;
    this.#begin.run();
    try {
      for (const job of batch) {
        if (nested) this.#savepoint.run();
        try {
          job.value = job.run();
          job.ok = true;
          if (nested) this.#release.run();
        } catch (error) {
          // A busy/locked statement means the whole transaction must be retried.
          if (isBusy(error)) throw error;
          job.ok = false;
          job.value = toStoreError(error);
          if (!nested) {
            this.#db.exec("ROLLBACK");
            return;
          }
          this.#rollbackTo.run();
          this.#release.run();
        }
      }
      this.#commit.run();
    } catch (error) {
      rollbackIfOpen(this.#db);
      throw error;
    }
  }
}
