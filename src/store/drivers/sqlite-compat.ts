/**
 * The `node:sqlite` members the driver uses that Node 22.13 (the oldest Node `engines` allows)
 * lacks: `DatabaseSync#location()`, `#isTransaction`, `#isOpen` and `StatementSync#setReturnArrays()`
 * (all added in 22.15–22.16), and the `timeout` open option (ignored silently before 22.16).
 * Each helper uses the native member when it exists and an equivalent otherwise, so a newer
 * Node keeps its fast paths and 22.13 runs the same driver.
 */
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
