/**
 * In-process handoff of SQLite's single write lock between the group-commit writer (main
 * thread, sqlite-writer.ts) and the purge worker thread (sqlite-purge-worker.ts), over a
 * SharedArrayBuffer both threads see.
 *
 * Without it the two connections meet only in SQLite's lock: a live write that arrives while a
 * purge transaction is open sleeps in SQLite's busy handler (1 ms, then 2 ms …, blocking the
 * event loop), then in the writer's async backoff; the purge's gaps are guesses. With it:
 * - `want` says the writer has jobs queued; the purge commits at its next session boundary
 *   and starts no new transaction until the writer's queue is empty (live traffic first);
 * - `lock` says which thread is inside a write transaction; the writer waits for the purge's
 *   COMMIT with `Atomics.waitAsync` (the event loop keeps running, and it wakes at once)
 *   instead of sleeping in SQLite. Other processes still meet in SQLite's own lock.
 * The gate only orders this process's two connections; it never replaces SQLite's locking,
 * so a crash of either thread leaves nothing but a released flag behind.
 */

const LOCK = 0;
const WANT = 1;
/** Set by the main thread while a purge worker lives (sqlite-purge-pool.ts). */
const PURGING = 2;
const FREE = 0;
const MAIN = 1;
const WORKER = 2;

export class WriteGate {
  readonly buffer: SharedArrayBuffer;
  readonly #cells: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(12)) {
    this.buffer = buffer;
    this.#cells = new Int32Array(buffer);
  }

  // --- main thread (group-commit writer) ---

  /** The writer has queued jobs: the purge makes way. */
  want(): void {
    if (Atomics.load(this.#cells, WANT) === 0) Atomics.store(this.#cells, WANT, 1);
  }

  /** Takes the lock for one synchronous transaction; false while the purge holds it. */
  tryEnter(): boolean {
    return Atomics.compareExchange(this.#cells, LOCK, FREE, MAIN) === FREE;
  }

  /** Resolves when the purge released the lock (or after `timeoutMs`, to try again anyway). */
  async released(timeoutMs: number): Promise<void> {
    const wait = Atomics.waitAsync(this.#cells, LOCK, WORKER, timeoutMs);
    if (wait.async) await wait.value;
  }

  /** Ends the writer's transaction. */
  leave(): void {
    Atomics.store(this.#cells, LOCK, FREE);
    Atomics.notify(this.#cells, LOCK);
  }

  /** The writer's queue is empty: the purge may go on. */
  idle(): void {
    Atomics.store(this.#cells, WANT, 0);
    Atomics.notify(this.#cells, WANT);
  }

  /** A purge worker runs (set by its pool, so a crashed worker cannot leave it set). */
  setPurging(on: boolean): void {
    Atomics.store(this.#cells, PURGING, on ? 1 : 0);
  }

  // --- worker threads (purge, checkpointer) ---

  /**
   * True while a purge worker runs: the checkpointer then never holds the writer off to finish
   * a checkpoint (the purge keeps adding frames, and checkpoints between its own transactions).
   */
  purging(): boolean {
    return Atomics.load(this.#cells, PURGING) !== 0;
  }

  /** True while the writer has jobs queued: the purge should commit now. */
  wanted(): boolean {
    return Atomics.load(this.#cells, WANT) !== 0;
  }

  /**
   * Blocks the worker until the writer is idle (at most `patienceMs`, so a writer that never
   * idles cannot starve the purge), then takes the lock.
   */
  enter(patienceMs: number): void {
    const deadline = performance.now() + patienceMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left > 0 && Atomics.load(this.#cells, WANT) !== 0) {
        Atomics.wait(this.#cells, WANT, 1, left);
        continue;
      }
      if (Atomics.compareExchange(this.#cells, LOCK, FREE, WORKER) === FREE) return;
      // The writer is inside its (synchronous, short) transaction.
      Atomics.wait(this.#cells, LOCK, MAIN, 1);
    }
  }

  /** Ends the purge's transaction and wakes a waiting writer. */
  exit(): void {
    Atomics.store(this.#cells, LOCK, FREE);
    Atomics.notify(this.#cells, LOCK);
  }

  /** The worker stopped (or died inside a transaction): frees a lock it may still hold. */
  reset(): void {
    Atomics.compareExchange(this.#cells, LOCK, WORKER, FREE);
    Atomics.notify(this.#cells, LOCK);
  }
}
