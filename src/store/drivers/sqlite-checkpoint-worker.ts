/**
 * Worker thread of the SQLite background checkpointer (sqlite-checkpointer.ts): its own
 * connection runs PASSIVE checkpoints every few ms, so copying WAL pages into the database file
 * and its fsyncs never happen inside a live COMMIT on the event loop (they made 1–3% of commits
 * take 5–100 ms: the gateway's p99).
 *
 * A passive checkpoint takes no write lock, so live writes go on meanwhile; but under steady
 * writes it never catches up with the last frame, and SQLite restarts the WAL from its start
 * only after a checkpoint that did. Once the WAL holds `resetPages` frames, a second checkpoint
 * copies the frames written during the first with the group-commit writer held off by the
 * in-process gate (sqlite-write-gate.ts, a few ms): the next write then restarts the WAL.
 */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import { WriteGate } from "./sqlite-write-gate.ts";

const { path, gate, everyMs, resetPages } = workerData as {
  path: string;
  gate: SharedArrayBuffer;
  everyMs: number;
  resetPages: number;
};
/** Longest wait for an idle writer before the finishing checkpoint takes the gate anyway. */
const PATIENCE_MS = 20;

const db = new DatabaseSync(path, { timeout: 0 });
db.exec("PRAGMA synchronous = NORMAL");
db.exec("PRAGMA wal_autocheckpoint = 0");
const passive = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const writeGate = new WriteGate(gate);

function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === "number" && ((code & 0xff) === 5 || (code & 0xff) === 6);
}

function checkpoint(): void {
  try {
    const done = passive.get() as { busy: number; log: number; checkpointed: number };
    // `log` is the WAL's size when this checkpoint started; the live writer has added frames
    // since, so past `resetPages` the rest is copied with the writer held off.
    // Not while a purge runs: the frames it adds during the first checkpoint would be copied
    // with the live writer held off for tens of ms; the WAL restarts once the purge is over.
    if (done.log >= resetPages && !writeGate.purging()) {
      writeGate.enter(PATIENCE_MS);
      try {
        passive.get();
      } finally {
        writeGate.exit();
      }
    }
  } catch (error) {
    // Another checkpointer (another process) is at it: next time.
    if (!isBusy(error)) throw error;
  }
}

/**
 * Checkpoints once `resetPages` frames wait to be copied (or any after MAX_WAIT_MS): each
 * checkpoint fsyncs twice and copies hot pages again, so checkpointing more often than SQLite's
 * own every-`resetPages` schedule costs more CPU (a quarter of it measured ~10% more per turn). `NOOP` only reports
 * the WAL's state (SQLite ≥ 3.51; older versions treat it as PASSIVE, still correct).
 */
const noop = db.prepare("PRAGMA wal_checkpoint(NOOP)");
const minPages = resetPages;
const MAX_WAIT_MS = 1000;
/** Least time between two checkpoints while a purge worker runs (ms). */
const PURGE_EVERY_MS = 1000;
let checkpointedAt = performance.now();

function tick(): void {
  try {
    const state = noop.get() as { log: number; checkpointed: number };
    const waiting = state.log - state.checkpointed;
    if (waiting <= 0) return;
    if (waiting < minPages && performance.now() - checkpointedAt < MAX_WAIT_MS) return;
    // While a purge runs, at most once a second: each checkpoint writes back and fsyncs the WAL
    // the purge is growing (~700 MB per 1,000,000 items); every 200 ms, that slowed the purge's
    // COMMITs, which live writes wait for (their p99 wait 2-4 -> ~12 ms). The frames stay in the
    // WAL meanwhile (it cannot restart under a purge anyway); PURGE_EVERY_MS bounds how long the
    // WAL goes unsynced (synchronous = NORMAL syncs it at checkpoints only).
    if (writeGate.purging() && performance.now() - checkpointedAt < PURGE_EVERY_MS) return;
  } catch (error) {
    if (!isBusy(error)) throw error;
    return;
  }
  checkpoint();
  checkpointedAt = performance.now();
}

const timer = setInterval(tick, everyMs);

parentPort?.on("message", (message: "close") => {
  if (message !== "close") return;
  clearInterval(timer);
  try {
    checkpoint();
  } finally {
    db.close();
    parentPort?.close();
  }
});
