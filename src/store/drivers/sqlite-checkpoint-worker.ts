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
 *
 * While a lifecycle purge runs, this worker copies nothing: the purge worker checkpoints between
 * its own transactions (sqlite-purge-wal.ts), which reaches the WAL's last frame and lets the WAL
 * start over; here the WAL is only synced to disk once a second (`synchronous = NORMAL` syncs it
 * at checkpoints only). After the purge what is left is copied,
 * and the parent, which said "purged", is told "caught-up": the driver's connection gets its
 * backstop checkpoint back only once that backstop no longer has the purge's WAL to copy inside a
 * live COMMIT.
 */
import { closeSync, fdatasyncSync, openSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { walStateReader } from "./sqlite-compat.ts";
import { loadSqliteQuietly } from "./sqlite-notice.ts";
import { WriteGate } from "./sqlite-write-gate.ts";
import { isBusy } from "./sqlite-writer.ts";

// Not a static import: see sqlite-notice.ts.
const { DatabaseSync } = loadSqliteQuietly();

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
/** Reports the WAL's state without copying (an older SQLite's NOOP would copy: sqlite-compat.ts). */
const walState = walStateReader(db, path);
const writeGate = new WriteGate(gate);

/** Most catch-up checkpoints in a row before the finishing one. */
const CATCH_UP_ROUNDS = 8;

function checkpoint(): void {
  try {
    const done = passive.get() as unknown as { log: number };
    // `log` is the WAL's size when this checkpoint started; the live writer has added frames
    // since. Copy them in more rounds without holding anyone off until one reaches the WAL's
    // last frame: only such a checkpoint fsyncs the database file, for everything the rounds
    // before it copied (after a 1,000,000-item sweep, ~170,000 frames: a 0.4 s fsync, traced),
    // which is better done here than below with the writer held off. Each round copies what was
    // written during the one before, so they shorten fast; under steady writes none may reach
    // the end, and then the finishing checkpoint below fsyncs, as before.
    let state = walState();
    for (let i = 0; i < CATCH_UP_ROUNDS && state.log > state.checkpointed; i++) {
      passive.get();
      state = walState();
    }
    // Not while a purge runs: the frames it adds would be copied with the live writer held off
    // for tens of ms; the purge restarts the WAL itself (sqlite-purge-wal.ts).
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
 * Makes the WAL durable without copying it (what a checkpoint's first fsync does): fdatasync
 * through a descriptor of our own, which flushes the file's pages whoever wrote them. SQLite
 * keeps no POSIX locks on the -wal file (WAL locks live in -shm), so closing this descriptor
 * cannot drop one — never do this with the main database file, whose locks it would drop. A
 * missing WAL (not created yet, or deleted by the last close) has nothing to sync.
 */
function syncWal(): void {
  let fd: number;
  try {
    fd = openSync(`${path}-wal`, "r");
  } catch {
    return;
  }
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Checkpoints once `resetPages` frames wait to be copied (or any after MAX_WAIT_MS): each
 * checkpoint fsyncs twice and copies hot pages again, so checkpointing more often than SQLite's
 * own every-`resetPages` schedule costs more CPU (a quarter of it measured ~10% more per turn).
 */
const minPages = resetPages;
const MAX_WAIT_MS = 1000;
/** Longest time the WAL goes unsynced while a purge worker runs (ms). */
const PURGE_SYNC_MS = 1000;
let checkpointedAt = performance.now();
let syncedAt = performance.now();
/** A purge ended (the parent said "purged") and the parent waits for "caught-up". */
let afterPurge = false;

function tick(): void {
  try {
    if (writeGate.purging()) {
      // No checkpoints from here while a purge runs: racing the purge's transactions, they
      // never reached the WAL's last frame (so the WAL never started over), wrote back and
      // fsynced what the purge grew and slowed the purge's COMMITs that live writes wait for
      // (docs/lifecycle.md). The purge checkpoints between its own transactions instead
      // (sqlite-purge-wal.ts). Syncing the WAL once a second keeps what a power failure can lose
      // of acknowledged writes to ~1 s, as checkpoints did.
      if (performance.now() - syncedAt >= PURGE_SYNC_MS) {
        syncWal();
        syncedAt = performance.now();
      }
      return;
    }
    const state = walState();
    const waiting = state.log - state.checkpointed;
    if (waiting > 0 && (waiting >= minPages || performance.now() - checkpointedAt >= MAX_WAIT_MS)) {
      checkpoint();
      checkpointedAt = performance.now();
      syncedAt = checkpointedAt;
    }
    if (afterPurge) {
      const now = walState();
      if (now.log - now.checkpointed < resetPages) {
        afterPurge = false;
        parentPort?.postMessage("caught-up");
      }
    }
  } catch (error) {
    if (!isBusy(error)) throw error;
  }
}

const timer = setInterval(tick, everyMs);

parentPort?.on("message", (message: "close" | "purged") => {
  if (message === "purged") {
    afterPurge = true;
    return;
  }
  if (message !== "close") return;
  clearInterval(timer);
  try {
    checkpoint();
  } finally {
    db.close();
    parentPort?.close();
  }
});
