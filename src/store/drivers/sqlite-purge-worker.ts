/**
 * Worker thread of the SQLite bulk purge: its own connection to the database file, so deleting
 * thousands of rows (and the WAL checkpoints that follow) never blocks the event loop that
 * serves live traffic. A busy database is waited for inside the worker (blocking only this
 * thread).
 */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import type { PurgeResult, PurgeTarget } from "../driver.ts";
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
const ROWS_PER_TX = 1000;
const GAP_MS = 1;
const countItems = db.prepare("SELECT item_count FROM sessions WHERE tenant = ? AND id = ?");
/** The session's item count (0 when gone): sizes the transactions. */
function itemCount(t: PurgeTarget): number {
  const row = countItems.get(t.tenant, t.id) as { item_count: number } | undefined;
  return row?.item_count ?? 0;
}

parentPort?.on("message", (message: { id: number; targets: PurgeTarget[] } | "close") => {
  if (message === "close") {
    db.close();
    parentPort?.close();
    return;
  }
  try {
    // Short write transactions: each holds SQLite's single write lock for at most ~ROWS_PER_TX
    // item rows (a few ms), then leaves a gap for the live writer. Every session is still
    // removed whole (its row, items and operation records in one transaction).
    const result: PurgeResult = { sessions: 0, items: 0, bytes: 0, removed: [] };
    let i = 0;
    while (i < message.targets.length) {
      begin();
      try {
        let rows = 0;
        const chunk: PurgeTarget[] = [];
        while (i < message.targets.length && (chunk.length === 0 || rows < ROWS_PER_TX)) {
          const t = message.targets[i++]!;
          chunk.push(t);
          rows += itemCount(t);
        }
        const part = purgeTargets(statements, chunk);
        db.exec("COMMIT");
        result.sessions += part.sessions;
        result.items += part.items;
        result.bytes += part.bytes;
        result.removed.push(...part.removed);
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
      if (i < message.targets.length) Atomics.wait(pause, 0, 0, GAP_MS);
    }
    parentPort?.postMessage({ id: message.id, result });
  } catch (error) {
    const e = error as { message?: string; errcode?: number };
    parentPort?.postMessage({ id: message.id, error: { message: String(e.message), errcode: e.errcode } });
  }
});
