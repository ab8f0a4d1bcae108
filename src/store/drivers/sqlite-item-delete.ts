/**
 * Deleting items from a SQLite session (ItemDeleteCapable). Runs inside the writer's transaction
 * like every write. Rows go away; later items keep their seqs, and their running token totals
 * (`cum_tokens`, which the window seek relies on) drop by the removed tokens so windows stay exact.
 * `item_count` stays the seq high-water mark; `deleted_items` counts the removed rows.
 */
import type { DriverWrite } from "../driver.ts";
import { NotFoundError } from "../errors.ts";
import type { Session } from "../types.ts";
import { rowToSession, type SessionRow, SQL } from "./sqlite-rows.ts";
import { checkVersion, type SqliteStatements } from "./sqlite-statements.ts";

const DSQL = {
  item: "SELECT seq, tokens, bytes FROM items WHERE session_rid = ? AND id = ?",
  remove: "DELETE FROM items WHERE session_rid = ? AND seq = ?",
  lowerCum: "UPDATE items SET cum_tokens = cum_tokens - ? WHERE session_rid = ? AND seq > ?",
  bump: SQL.sessionByRid.replace(/^SELECT (.*) FROM sessions WHERE rid = \?$/, (_m, cols: string) =>
    [
      "UPDATE sessions SET version = version + 1, deleted_items = deleted_items + ?, ",
      "token_count = token_count - ?, item_bytes = item_bytes - ?, updated_at = ? ",
      `WHERE rid = ? RETURNING ${cols}`,
    ].join(""),
  ),
} as const;

/** Removes the items `itemIds` (all or none) of a visible session; returns the session after. */
export function deleteSqliteItems(
  s: SqliteStatements,
  tenant: string,
  id: string,
  itemIds: string[],
  write: DriverWrite,
): Session {
  const head = s.head(tenant, id, write.now);
  checkVersion(head, write.expectedVersion);
  const found = new Map<number, { tokens: number; bytes: number }>();
  for (const itemId of itemIds) {
    const row = s.get(DSQL.item).get(head.rid, itemId) as
      | { seq: number; tokens: number; bytes: number }
      | undefined;
    if (!row) throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
    found.set(row.seq, row);
  }
  let tokens = 0;
  let bytes = 0;
  for (const [seq, row] of found) {
    s.get(DSQL.remove).run(head.rid, seq);
    if (row.tokens > 0) s.get(DSQL.lowerCum).run(row.tokens, head.rid, seq);
    tokens += row.tokens;
    bytes += row.bytes;
  }
  const updated = s.get(DSQL.bump).get(found.size, tokens, bytes, write.now, head.rid);
  return rowToSession(updated as unknown as SessionRow);
}
