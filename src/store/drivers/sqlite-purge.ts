/**
 * The bulk purge of the SQLite lifecycle capability as a plain function over a connection, so
 * the driver's own connection and the purge worker (sqlite-purge-worker.ts) run the same code.
 * The caller owns the transaction.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { PurgeResult, PurgeTarget } from "../driver.ts";

const SQL = {
  head:
    "SELECT rid, version, status, item_bytes, length(CAST(state AS BLOB)) AS state_bytes FROM sessions " +
    "WHERE tenant = ? AND id = ?",
  items: "DELETE FROM items WHERE session_rid = ?",
  operations: "DELETE FROM operations WHERE session_rid = ?",
  session: "DELETE FROM sessions WHERE rid = ?",
} as const;

/** Prepared statements of one connection (prepared once, reused for every batch). */
export type PurgeStatements = Record<keyof typeof SQL, StatementSync>;

export function preparePurge(db: DatabaseSync, prepare?: (sql: string) => StatementSync): PurgeStatements {
  const p = prepare ?? ((sql: string) => db.prepare(sql));
  return { head: p(SQL.head), items: p(SQL.items), operations: p(SQL.operations), session: p(SQL.session) };
}

/** Deletes the targets still at their planned version, with items and operation records. */
export function purgeTargets(s: PurgeStatements, targets: readonly PurgeTarget[]): PurgeResult {
  const result: PurgeResult = { sessions: 0, items: 0, bytes: 0, removed: [] };
  for (const t of targets) {
    const row = s.head.get(t.tenant, t.id) as
      | { rid: number; version: number; status: string; item_bytes: number; state_bytes: number }
      | undefined;
    if (!row || (t.version !== undefined && row.version !== t.version)) continue;
    result.items += Number(s.items.run(row.rid).changes);
    s.operations.run(row.rid);
    s.session.run(row.rid);
    result.sessions++;
    result.bytes += (row.status === "archived" ? 0 : row.item_bytes) + row.state_bytes;
    result.removed.push(`${t.tenant}\u0000${t.id}`);
  }
  return result;
}
