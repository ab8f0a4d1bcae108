/**
 * Runs the WAL checkpoints of a file database on a worker thread (sqlite-checkpoint-worker.ts)
 * instead of inside the COMMIT that crosses `wal_autocheckpoint` on the event loop. Started by
 * the first write, so read-only uses hold no thread; unreferenced, so it never keeps a process
 * alive. If the worker fails, `onStop` restores the connection's automatic checkpoints.
 *
 * While a lifecycle purge runs (`purging`), the connection's backstop checkpoint is off
 * (`backstop(false)`): the purge lets the WAL grow by ~16 MB between its own checkpoints
 * (sqlite-purge-wal.ts), so it would fire inside live COMMITs. It comes back (`backstop(true)`) only once the worker has copied the WAL
 * the purge left behind: restored at once, the first live COMMIT copied that backlog inline —
 * a 0.7–2.5 s stall of the event loop after a 1,000,000-item sweep.
 */
import { Worker } from "node:worker_threads";
import { siblingWorkerUrl } from "./sqlite-worker-url.ts";
import type { WriteGate } from "./sqlite-write-gate.ts";

/** How often the worker looks at the WAL (ms; it checkpoints only once enough is waiting). */
const EVERY_MS = 50;

export class SqliteCheckpointer {
  readonly #path: string;
  readonly #gate: WriteGate;
  readonly #resetPages: number;
  readonly #onStop: () => void;
  readonly #backstop: (on: boolean) => void;
  #worker: Worker | null = null;
  /** The backstop was turned off for a purge and is not back yet. */
  #backstopOff = false;
  #exited: Promise<void> | null = null;
  #stopped = false;

  constructor(
    path: string,
    options: { gate: WriteGate; resetPages: number; onStop: () => void; backstop?: (on: boolean) => void },
  ) {
    this.#path = path;
    this.#gate = options.gate;
    this.#resetPages = options.resetPages;
    this.#onStop = options.onStop;
    this.#backstop = options.backstop ?? (() => {});
  }

  get running(): boolean {
    return this.#worker !== null;
  }

  /** Starts the worker unless it runs (or ran and stopped). Cheap: called before every write. */
  ensure(): void {
    if (this.#worker || this.#stopped) return;
    const worker = new Worker(siblingWorkerUrl(import.meta.url, "sqlite-checkpoint-worker"), {
      workerData: {
        path: this.#path,
        gate: this.#gate.buffer,
        everyMs: EVERY_MS,
        resetPages: this.#resetPages,
      },
    });
    worker.unref();
    this.#worker = worker;
    this.#exited = new Promise((resolve) => {
      worker.on("exit", () => {
        // A worker that died while holding the gate must not keep the live writer waiting.
        this.#gate.reset();
        if (this.#worker === worker) {
          this.#worker = null;
          this.#stopped = true;
          this.#onStop();
        }
        resolve();
      });
    });
    worker.on("message", (message: unknown) => {
      // A purge that started meanwhile keeps it off; its own end brings another "caught-up".
      if (message !== "caught-up" || !this.#backstopOff || this.#gate.purging()) return;
      this.#backstopOff = false;
      this.#backstop(true);
    });
    worker.on("error", () => {});
  }

  /**
   * A lifecycle purge worker started (true) or the last one stopped (false). Without a running
   * worker the connection keeps its own checkpoints throughout.
   */
  purging(running: boolean): void {
    if (!this.#worker) return;
    if (running) {
      this.#backstopOff = true;
      this.#backstop(false);
    } else if (this.#backstopOff) {
      this.#worker.postMessage("purged");
    }
  }

  /** Stops the worker after one last checkpoint and waits until its connection is closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const worker = this.#worker;
    this.#worker = null;
    if (!worker) return;
    // Referenced until it exited: closing must not let the process end before its connection did.
    worker.ref();
    worker.postMessage("close");
    await this.#exited;
  }
}
