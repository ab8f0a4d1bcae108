/**
 * Keeps the WAL short while the purge worker (sqlite-purge-worker.ts) deletes: after about
 * WAL_BUDGET_BYTES of purge transactions it checkpoints, between two of them, so the next
 * writer restarts the WAL from its first frame.
 *
 * Why: without it a 1,000,000-item purge appended ~1.2 GB to the WAL (one session per
 * transaction re-writes the index and table pages its neighbours share), and appending to a
 * growing file is what a purge COMMIT mostly paid for: 0.29–0.48 ms per one-session COMMIT
 * against 0.07 ms when the same frames overwrite a WAL that restarted (ext4, measured on the
 * bench database). The live writer waits for those COMMITs, and afterwards someone had to copy
 * the whole backlog and truncate the file.
 *
 * The checkpoint runs in PASSIVE rounds without holding anyone off (each copies what the live
 * writer added during the one before); only if live writes kept it from reaching the WAL's last
 * frame does a last round hold the live writer off through the write gate, for those few frames.
 * While the purge checkpoints it writes nothing, so unlike a checkpoint racing a running purge,
 * these reach the end.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { WriteGate } from "./sqlite-write-gate.ts";
import { isBusy } from "./sqlite-writer.ts";

/**
 * WAL written between two checkpoints of the purge (estimated, see `spent`), by default. Of the
 * 4–128 MB tried in bench:sweep, 16 MB gave the lowest live p99 during a sweep (a longer WAL
 * raised it: 2.3 ms at 128 MB) for 0.5 s more sweep time than 32 MB (3.5 against 3.0 s).
 */
export const WAL_BUDGET_BYTES = 16 * 1024 * 1024;
/**
 * What a purged item adds to the WAL is estimated as twice (its bytes + this, for its index
 * entries): each one-session transaction writes again the table and index pages it shares with
 * its neighbours (measured: ~1.2 KB of WAL per 390-byte item).
 */
const INDEX_BYTES_PER_ITEM = 200;
/** PASSIVE rounds before the last one holds the live writer off. */
const CATCH_UP_ROUNDS = 4;
/** Longest wait for an idle live writer before the last round takes the gate anyway. */
const PATIENCE_MS = 20;

interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export class WalBudget {
  readonly #gate: WriteGate;
  readonly #passive: StatementSync;
  readonly #budget: number;
  #written = 0;

  constructor(db: DatabaseSync, gate: WriteGate, budgetBytes: number = WAL_BUDGET_BYTES) {
    this.#gate = gate;
    this.#passive = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
    this.#budget = budgetBytes;
  }

  /** Counts one committed purge transaction; checkpoints once the budget is spent. */
  spent(items: number, bytes: number): void {
    this.#written += 2 * (bytes + items * INDEX_BYTES_PER_ITEM);
    if (this.#written < this.#budget) return;
    this.#written = 0;
    this.checkpoint();
  }

  /** Copies the whole WAL into the database file (see the module comment). */
  checkpoint(): void {
    try {
      // A checkpoint copies the frames that were in the WAL when it started: each round copies
      // what the live writer added during the one before, and a round that finds nothing new
      // (its start saw no more frames than the last one's) proves the WAL fully copied.
      let state = this.#round();
      for (let i = 0; i < CATCH_UP_ROUNDS; i++) {
        const next = this.#round();
        if (next.checkpointed === next.log && next.log <= state.log) return;
        state = next;
      }
      this.#gate.enter(PATIENCE_MS);
      try {
        this.#round();
      } finally {
        this.#gate.exit();
      }
    } catch (error) {
      // Another connection is checkpointing: the WAL gets copied either way.
      if (!isBusy(error)) throw error;
    }
  }

  #round(): CheckpointResult {
    return this.#passive.get() as unknown as CheckpointResult;
  }
}
