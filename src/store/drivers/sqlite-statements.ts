/**
 * Prepared statements, prepared once per SQL text and reused, plus the session lookups every
 * operation starts with. Only the driver's own code calls these, always synchronously.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { sessionNotFound, versionConflict } from "../errors.ts";
import { type ArrayRowStatement, returningArrays } from "./sqlite-compat.ts";
import {
  type AppendHead,
  arrayToHead,
  arrayToRow,
  type Cell,
  rowVisible,
  type SessionHead,
  type SessionRow,
  SQL,
} from "./sqlite-rows.ts";

/** Prepared statements cached by SQL text, and the session lookups writes and reads start with. */
export class SqliteStatements {
  readonly db: DatabaseSync;
  readonly #cache = new Map<string, StatementSync>();
  readonly #arrays = new Map<string, ArrayRowStatement>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** The cached statement for `sql` (rows as objects). */
  get(sql: string): StatementSync {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }

  /** The cached statement for `sql` returning rows as arrays: cheaper when reading many rows. */
  arrays(sql: string): ArrayRowStatement {
    let stmt = this.#arrays.get(sql);
    if (!stmt) {
      stmt = returningArrays(this.db.prepare(sql));
      this.#arrays.set(sql, stmt);
    }
    return stmt;
  }

  /** The counters and expiry of a visible session (no JSON columns), or `not_found`. */
  head(tenant: string, id: string, now: number): SessionHead {
    const a = this.arrays(SQL.headByKey).get(tenant, id) as Cell[] | undefined;
    const head = a && arrayToHead(a);
    if (!head || !rowVisible(head, now)) throw sessionNotFound(id);
    return head;
  }

  /** `head` with the session's turn claim, for appends. */
  appendHead(tenant: string, id: string, now: number): AppendHead {
    const a = this.arrays(SQL.appendHeadByKey).get(tenant, id) as Cell[] | undefined;
    const head = a && arrayToHead(a);
    if (!head || !rowVisible(head, now)) throw sessionNotFound(id);
    return head;
  }

  /** The whole row of a session, visible or not. */
  row(tenant: string, id: string): SessionRow | undefined {
    const a = this.arrays(SQL.sessionByKey).get(tenant, id) as Cell[] | undefined;
    return a && arrayToRow(a);
  }

  /** The whole row of a visible session, or `not_found`. */
  visibleRow(tenant: string, id: string, now: number): SessionRow {
    const row = this.row(tenant, id);
    if (!row || !rowVisible(row, now)) throw sessionNotFound(id);
    return row;
  }

  clear(): void {
    this.#cache.clear();
    this.#arrays.clear();
  }
}

/** Throws `conflict` unless the session is at `expected` (when given). */
export function checkVersion(head: SessionHead, expected: number | undefined): void {
  if (expected !== undefined && head.version !== expected) {
    throw versionConflict(head.id, expected, head.version);
  }
}
