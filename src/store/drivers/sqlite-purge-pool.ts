/**
 * Runs SQLite bulk purges on a worker thread (sqlite-purge-worker.ts) for file databases. The
 * worker starts on the first purge and stops by itself after `idleMs` without work, so a driver
 * needs no extra close step and an idle process holds no thread. In-memory databases (one
 * connection only) purge on the caller's connection instead.
 */
import { Worker } from "node:worker_threads";
import type { PurgeResult, PurgeTarget } from "../driver.ts";
import { UnavailableError } from "../errors.ts";
import { siblingWorkerUrl } from "./sqlite-worker-url.ts";
import type { WriteGate } from "./sqlite-write-gate.ts";

interface Pending {
  resolve: (result: PurgeResult) => void;
  reject: (error: unknown) => void;
}

export class SqlitePurgeWorker {
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #idleMs: number;
  readonly #gate: WriteGate;
  readonly #onRunning: (running: boolean) => void;
  readonly #walBudgetBytes: number | undefined;
  #worker: Worker | null = null;
  /** Workers started and not yet exited (a stopping one may still be checkpointing). */
  #live = 0;
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  #idle: NodeJS.Timeout | null = null;

  /**
   * `gate` is shared with the driver's group-commit writer; `onRunning` is told when a worker
   * starts and when the last one exited (the driver's connection leaves WAL checkpoints to the
   * worker's checkpointer thread meanwhile).
   */
  constructor(
    path: string,
    options: {
      busyTimeoutMs: number;
      gate: WriteGate;
      onRunning?: (running: boolean) => void;
      idleMs?: number;
      /** WAL the purge writes between two of its checkpoints (sqlite-purge-wal.ts; tests shrink it). */
      walBudgetBytes?: number;
    },
  ) {
    this.#path = path;
    this.#busyTimeoutMs = options.busyTimeoutMs;
    this.#gate = options.gate;
    this.#onRunning = options.onRunning ?? (() => {});
    this.#idleMs = options.idleMs ?? 1000;
    this.#walBudgetBytes = options.walBudgetBytes;
  }

  purge(targets: PurgeTarget[]): Promise<PurgeResult> {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    const worker = this.#start();
    // Referenced only while a purge is pending: an idle worker never keeps the process alive.
    worker.ref();
    const id = this.#next++;
    return new Promise<PurgeResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, targets });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(siblingWorkerUrl(import.meta.url, "sqlite-purge-worker"), {
      workerData: {
        path: this.#path,
        busyTimeoutMs: this.#busyTimeoutMs,
        gate: this.#gate.buffer,
        walBudgetBytes: this.#walBudgetBytes,
      },
    });
    if (this.#live++ === 0) {
      this.#gate.setPurging(true);
      this.#onRunning(true);
    }
    worker.on("message", (m: { id: number; result?: PurgeResult; error?: { message: string } }) => {
      const pending = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error) pending?.reject(new UnavailableError(`The SQLite purge failed: ${m.error.message}`));
      else pending?.resolve(m.result!);
      if (this.#pending.size === 0) {
        worker.unref();
        this.#idle = setTimeout(() => this.stop(), this.#idleMs).unref();
      }
    });
    worker.on("error", (error) => this.#fail(error));
    worker.on("exit", () => {
      const current = this.#worker === worker;
      if (current) this.#worker = null;
      if (--this.#live === 0) {
        // A worker that died inside a transaction must not keep the live writer waiting.
        this.#gate.reset();
        this.#gate.setPurging(false);
        this.#onRunning(false);
      }
      if (current) this.#fail(new UnavailableError("The SQLite purge worker stopped; retry the sweep."));
    });
    this.#worker = worker;
    return worker;
  }

  #fail(error: unknown): void {
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  /** Stops the worker (its connection closes first); pending purges fail. */
  stop(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    const worker = this.#worker;
    this.#worker = null;
    if (!worker) return;
    // It finishes the purge in hand, then closes; queued ones are dropped.
    this.#fail(new UnavailableError("The SQLite purge worker stopped; retry the sweep."));
    worker.postMessage("close");
  }
}
