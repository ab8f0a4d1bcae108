/**
 * Runs the WAL checkpoints of a file database on a worker thread (sqlite-checkpoint-worker.ts)
 * instead of inside the COMMIT that crosses `wal_autocheckpoint` on the event loop. Started by
 * the first write, so read-only uses hold no thread; unreferenced, so it never keeps a process
 * alive. If the worker fails, `onStop` restores the connection's automatic checkpoints.
 */
import { Worker } from "node:worker_threads";
import type { WriteGate } from "./sqlite-write-gate.ts";

/** How often the worker looks at the WAL (ms; it checkpoints only once enough is waiting). */
const EVERY_MS = 50;

export class SqliteCheckpointer {
  readonly #path: string;
  readonly #gate: WriteGate;
  readonly #resetPages: number;
  readonly #onStop: () => void;
  #worker: Worker | null = null;
  #exited: Promise<void> | null = null;
  #stopped = false;

  constructor(path: string, options: { gate: WriteGate; resetPages: number; onStop: () => void }) {
    this.#path = path;
    this.#gate = options.gate;
    this.#resetPages = options.resetPages;
    this.#onStop = options.onStop;
  }

  get running(): boolean {
    return this.#worker !== null;
  }

  /** Starts the worker unless it runs (or ran and stopped). Cheap: called before every write. */
  ensure(): void {
    if (this.#worker || this.#stopped) return;
    const worker = new Worker(new URL("./sqlite-checkpoint-worker.ts", import.meta.url), {
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
    worker.on("error", () => {});
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
