/**
 * Worker thread of the SQLite bulk purge: its own connection to the database file, so deleting
 * thousands of rows (and the WAL checkpoints that follow) never blocks the event loop that
 * serves live traffic. A busy database is waited for inside the worker (blocking only this
 * thread).
 *
 * Live writes go first (sqlite-write-gate.ts): a purge transaction starts only while the
 * group-commit writer has nothing queued, and commits at the next session boundary once it has
 * (or after TX_BUDGET_MS). Every session is still removed whole: its row, items and operation
 * records in one transaction.
 *
 * The WAL is kept short by the purge itself: every ~WAL_BUDGET_BYTES it checkpoints between two
 * of its transactions (sqlite-purge-wal.ts), so the next writer restarts the WAL and the purge's
 * COMMITs overwrite frames already in the file instead of growing it by ~1 GB per 1,000,000 items.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PurgeResult, PurgeTarget } from "../driver.ts";
import { rollbackIfOpen } from "./sqlite-compat.ts";
import { loadSqliteQuietly } from "./sqlite-notice.ts";
import { preparePurge, purgeTargets } from "./sqlite-purge.ts";
import { WalBudget } from "./sqlite-purge-wal.ts";
import { WriteGate } from "./sqlite-write-gate.ts";
import { isBusy } from "./sqlite-writer.ts";

// Not a static import: see sqlite-notice.ts.
const { DatabaseSync } = loadSqliteQuietly();

const { path, busyTimeoutMs, gate, walBudgetBytes } = workerData as {
  path: string;
  busyTimeoutMs: number;
  gate: SharedArrayBuffer;
  walBudgetBytes: number | undefined;
};
// No SQLite busy handler: it sleeps up to 100 ms between tries, while the live writer frees
// the lock every few ms. The worker polls every 0.2 ms instead (blocking only itself).
const db = new DatabaseSync(path, { timeout: 0 });
const writeGate = new WriteGate(gate);
const pause = new Int32Array(new SharedArrayBuffer(4));
/**
 * Longest purge transaction: bounds the COMMIT (WAL frames written) a live write may wait for.
 * 4 ms (~9 sessions): COMMIT p99 2.3 ms; 1 ms (~7, the rest of a session being the unit): 0.7 ms.
 */
const TX_BUDGET_MS = 1;
/** Longest wait for a writer that never idles before a purge transaction starts anyway. */
const PATIENCE_MS = 20;

/**
 * Takes the in-process gate, then BEGIN IMMEDIATE. Another process holding SQLite's lock is
 * polled for until the deadline, with the gate released meanwhile (the live writer may use it).
 */
function begin(): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    writeGate.enter(PATIENCE_MS);
    try {
      db.exec("BEGIN IMMEDIATE");
      return;
    } catch (error) {
      writeGate.exit();
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, 0.2);
    }
  }
}

db.exec("PRAGMA synchronous = NORMAL");
// No automatic checkpoints inside this connection's COMMITs: it checkpoints between its own
// transactions (WalBudget); the driver's background checkpointer copies what is left after the
// purge (sqlite-checkpointer.ts), in inline mode the driver's connection does.
db.exec("PRAGMA wal_autocheckpoint = 0");
const statements = preparePurge(db);
const walBudget = new WalBudget(db, writeGate, walBudgetBytes);

parentPort?.on("message", (message: { id: number; targets: PurgeTarget[] } | "close") => {
  if (message === "close") {
    db.close();
    parentPort?.close();
    return;
  }
  try {
    const result: PurgeResult = { sessions: 0, items: 0, bytes: 0, removed: [] };
    const targets = message.targets;
    let i = 0;
    while (i < targets.length) {
      const itemsBefore = result.items;
      const bytesBefore = result.bytes;
      begin();
      try {
        const started = performance.now();
        do {
          const part = purgeTargets(statements, [targets[i++]!]);
          result.sessions += part.sessions;
          result.items += part.items;
          result.bytes += part.bytes;
          result.removed.push(...part.removed);
        } while (i < targets.length && !writeGate.wanted() && performance.now() - started < TX_BUDGET_MS);
        db.exec("COMMIT");
      } catch (error) {
        rollbackIfOpen(db);
        throw error;
      } finally {
        writeGate.exit();
      }
      walBudget.spent(result.items - itemsBefore, result.bytes - bytesBefore);
    }
    parentPort?.postMessage({ id: message.id, result });
  } catch (error) {
    const e = error as { message?: string; errcode?: number };
    parentPort?.postMessage({ id: message.id, error: { message: String(e.message), errcode: e.errcode } });
  }
});
