/**
 * The `node:sqlite` members the driver uses that Node 22.13 (the oldest Node `engines` allows)
 * lacks: `DatabaseSync#location()`, `#isTransaction`, `#isOpen` and `StatementSync#setReturnArrays()`
 * (all added in 22.15–22.16), and the `timeout` open option (ignored silently before 22.16); and of
 * its bundled SQLite (3.47 in 22.13), `PRAGMA wal_checkpoint(NOOP)` (SQLite 3.51).
 * Each helper uses the native member when it exists and an equivalent otherwise, so a newer
 * Node keeps its fast paths and 22.13 runs the same driver.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { endianness } from "node:os";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";

let fallbacksForced = false;

/**
 * Tests only: makes every helper of this module take its Node 22.13 path on a newer Node, so CI
 * (Node 24) exercises the fallbacks. Applies to this thread (the workers detect natively).
 */
export function forceSqliteFallbacks(on: boolean): void {
  fallbacksForced = on;
}

/**
 * Sets the busy timeout with the PRAGMA: before 22.16 `new DatabaseSync(path, { timeout })`
 * ignores the option silently and the connection would fail at once on a locked file.
 */
export function setBusyTimeout(db: DatabaseSync, timeoutMs: number): void {
  db.exec(`PRAGMA busy_timeout = ${timeoutMs}`);
}

/** The absolute path of the main database file, or null for `:memory:` (as `location()` answers). */
export function databaseLocation(db: DatabaseSync): string | null {
  if (!fallbacksForced && typeof db.location === "function") return db.location();
  // `file` is "" for an in-memory or temporary database.
  const rows = db.prepare("PRAGMA database_list").all() as { name: string; file: string }[];
  return rows.find((row) => row.name === "main")?.file || null;
}

/** Whether a transaction is open on `db`. */
export function inTransaction(db: DatabaseSync): boolean {
  if (!fallbacksForced && typeof db.isTransaction === "boolean") return db.isTransaction;
  // A deferred BEGIN takes no lock until its first read, so BEGIN + COMMIT changes nothing; SQLite
  // refuses the BEGIN inside a transaction.
  try {
    db.exec("BEGIN");
  } catch (error) {
    if (/within a transaction/.test((error as Error).message)) return true;
    throw error;
  }
  db.exec("COMMIT");
  return false;
}

/** Rolls back the transaction open on `db`, if any: the clean-up of a failed write or read. */
export function rollbackIfOpen(db: DatabaseSync): void {
  if (inTransaction(db)) db.exec("ROLLBACK");
}

/** Handles closed through `closeDatabase`: Node before 22.15 has no `isOpen`. */
const closed = new WeakSet<DatabaseSync>();

/** Whether `db` is open (closed only through `closeDatabase`). */
export function isDatabaseOpen(db: DatabaseSync): boolean {
  if (!fallbacksForced && typeof db.isOpen === "boolean") return db.isOpen;
  return !closed.has(db);
}

/** Closes `db` once; a second call does nothing. */
export function closeDatabase(db: DatabaseSync): void {
  if (!isDatabaseOpen(db)) return;
  closed.add(db);
  db.close();
}

/** What a statement prepared for array rows offers: `get` and `all`, rows as column arrays. */
export type ArrayRowStatement = Pick<StatementSync, "get" | "all">;

type Call<T> = (...params: (SQLInputValue | Record<string, SQLInputValue>)[]) => T;

/**
 * `stmt` returning each row as an array of its columns in SELECT order. Without
 * `setReturnArrays`, the object rows are mapped: every SQL the driver reads as arrays names
 * distinct, non-numeric columns, so `Object.values` keeps them all, in order.
 */
export function returningArrays(stmt: StatementSync): ArrayRowStatement {
  if (!fallbacksForced && typeof stmt.setReturnArrays === "function") {
    stmt.setReturnArrays(true);
    return stmt;
  }
  const get = stmt.get.bind(stmt) as Call<Record<string, unknown> | undefined>;
  const all = stmt.all.bind(stmt) as Call<Record<string, unknown>[]>;
  return {
    get: ((...params) => {
      const row = get(...params);
      return row && Object.values(row);
    }) as Call<unknown> as StatementSync["get"],
    all: ((...params) =>
      all(...params).map((row) => Object.values(row))) as Call<unknown> as StatementSync["all"],
  };
}

/** The WAL's length and how much of it is copied into the database file, in frames. */
export interface WalState {
  log: number;
  checkpointed: number;
}

/** `PRAGMA wal_checkpoint(NOOP)`, which only reports, is SQLite 3.51's (Node 24 bundles 3.53). */
function knowsNoopCheckpoint(db: DatabaseSync): boolean {
  const { v } = db.prepare("SELECT sqlite_version() AS v").get() as { v: string };
  const [major = 0, minor = 0] = v.split(".").map(Number);
  return major > 3 || (major === 3 && minor >= 51);
}

/**
 * A reader of the WAL state of `db`, the connection to the database file at `path`, that never
 * checkpoints. Where SQLite knows NOOP that is the native report. An older SQLite (Node 22.13
 * bundles 3.47) reads `wal_checkpoint(NOOP)` as PASSIVE and copies the WAL at every call, so the
 * state is read from the wal-index header in `<path>-shm` instead: its layout is fixed (every SQLite
 * since 3.7.0 shares one database; https://sqlite.org/walformat.html), `mxFrame` at byte 16 of the
 * header and of its second copy at 48, `nBackfill` at byte 96, in the host's byte order. NOOP reports
 * exactly these two numbers.
 */
export function walStateReader(db: DatabaseSync, path: string): () => WalState {
  if (!fallbacksForced && knowsNoopCheckpoint(db)) {
    const noop = db.prepare("PRAGMA wal_checkpoint(NOOP)");
    return () => {
      const { log, checkpointed } = noop.get() as unknown as WalState;
      return { log, checkpointed };
    };
  }
  const header = Buffer.alloc(100);
  const read = endianness() === "LE" ? header.readUInt32LE.bind(header) : header.readUInt32BE.bind(header);
  return () => {
    let fd: number;
    try {
      fd = openSync(`${path}-shm`, "r");
    } catch {
      return { log: 0, checkpointed: 0 }; // no WAL opened yet: nothing written
    }
    try {
      // A writer updates the second copy, then the first: equal copies are a whole header.
      for (let attempt = 0; ; attempt++) {
        if (readSync(fd, header, 0, header.length, 0) < header.length) return { log: 0, checkpointed: 0 };
        if (read(16) === read(64) || attempt === 10) return { log: read(16), checkpointed: read(96) };
      }
    } finally {
      closeSync(fd);
    }
  };
}
