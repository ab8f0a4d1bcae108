/**
 * Worker thread of the SQLite bulk purge: its own connection to the database file, so deleting
 * thousands of rows (and the WAL checkpoints that follow) never blocks the event loop that
 * serves live traffic. One message = one purge = one IMMEDIATE transaction; a busy database is
 * waited for inside the worker (blocking only this thread).
 */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import type { PurgeTarget } from "../driver.ts";
import { preparePurge, purgeTargets } from "./sqlite-purge.ts";

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
// No SQLite busy handler: it sleeps up to 100 ms between tries, while the live writer frees
// the lock every few ms. The worker polls every 0.2 ms instead (blocking only itself).
const db = new DatabaseSync(path, { timeout: 0 });
const pause = new Int32Array(new SharedArrayBuffer(4));

function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === "number" && ((code & 0xff) === 5 || (code & 0xff) === 6);
}

/** BEGIN IMMEDIATE, retried while another connection writes, until the deadline. */
function begin(): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.exec("BEGIN IMMEDIATE");
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, 0.2);
    }
  }
}
db.exec("PRAGMA synchronous = NORMAL");
const statements = preparePurge(db);

parentPort?.on("message", (message: { id: number; targets: PurgeTarget[] } | "close") => {
  if (message === "close") {
    db.close();
    parentPort?.close();
    return;
  }
  try {
    begin();
    try {
      const result = purgeTargets(statements, message.targets);
      db.exec("COMMIT");
      parentPort?.postMessage({ id: message.id, result });
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  } catch (error) {
    const e = error as { message?: string; errcode?: number };
    parentPort?.postMessage({ id: message.id, error: { message: String(e.message), errcode: e.errcode } });
  }
});
