/**
 * Rows of the SQLite schema and their mapping to contract values. Rows come out of SQLite as
 * fresh strings and numbers, so parsing them builds fresh objects: no structuredClone needed.
 */
import type { DriverListQuery, PreparedItem } from "../driver.ts";
import type { Item, JsonObject, ListSort, Session, SessionStatus } from "../types.ts";
import { sessionBytes } from "./shared.ts";

/** What writes and item reads need of a session: no JSON columns to materialize. */
export interface SessionHead {
  rid: number;
  id: string;
  version: number;
  /** The seq high-water mark: the last seq ever assigned. */
  item_count: number;
  /** Items deleted since; the session holds `item_count - deleted_items` items. */
  deleted_items: number;
  token_count: number;
  item_bytes: number;
  last_active_at: number;
  idle_ttl_ms: number | null;
  expires_at: number | null;
  status: string;
}

/** The head an append starts with: the turn claim comes with it (one statement, not two). */
export interface AppendHead extends SessionHead {
  claim_holder: string | null;
  claim_until: number | null;
}

export interface SessionRow extends SessionHead {
  tenant: string;
  owner: string | null;
  metadata: string;
  labels: string;
  state: string;
  created_at: number;
  updated_at: number;
  pinned: number;
  fork_parent_id: string | null;
  fork_at_seq: number | null;
}

const SESSION_COLUMNS =
  "rid, tenant, id, owner, metadata, labels, state, version, item_count, token_count, item_bytes, " +
  "created_at, updated_at, last_active_at, idle_ttl_ms, expires_at, status, pinned, fork_parent_id, fork_at_seq, " +
  "deleted_items";

/** The visibility rule of driver.ts, as SQL over a `sessions` row (`now` bound as `$now`). */
const VISIBLE_SQL =
  "(idle_ttl_ms IS NULL OR last_active_at + idle_ttl_ms > $now) AND (expires_at IS NULL OR expires_at > $now)";

/** Every fixed SQL text of the driver (each prepared once). */
export const SQL = {
  headByKey:
    "SELECT rid, id, version, item_count, deleted_items, token_count, item_bytes, last_active_at, idle_ttl_ms, " +
    "expires_at, status " +
    "FROM sessions WHERE tenant = ? AND id = ?",
  /** What SessionHeadInfo needs (and visibility), in `stampToHead` order. */
  stampByKey:
    "SELECT id, version, item_count, deleted_items, token_count, created_at, status, last_active_at, " +
    "idle_ttl_ms, expires_at FROM sessions WHERE tenant = ? AND id = ?",
  sessionByKey: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE tenant = ? AND id = ?`,
  sessionByRid: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE rid = ?`,
  insertSession:
    `INSERT INTO sessions (${SESSION_COLUMNS.slice("rid, ".length)}) ` +
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  updateSession:
    "UPDATE sessions SET owner = ?, metadata = ?, labels = ?, state = ?, idle_ttl_ms = ?, expires_at = ?, " +
    `pinned = ?, status = ?, version = version + 1, updated_at = ? WHERE rid = ? RETURNING ${SESSION_COLUMNS}`,
  bumpAfterAppend:
    "UPDATE sessions SET version = ?, item_count = ?, token_count = ?, item_bytes = ?, updated_at = ?, " +
    "last_active_at = ? WHERE rid = ?",
  touch: `UPDATE sessions SET last_active_at = ? WHERE rid = ? RETURNING ${SESSION_COLUMNS}`,
  deleteSession: "DELETE FROM sessions WHERE rid = ?",
  deleteItems: "DELETE FROM items WHERE session_rid = ?",
  deleteOperations: "DELETE FROM operations WHERE session_rid = ?",
  appendHeadByKey:
    "SELECT rid, id, version, item_count, deleted_items, token_count, item_bytes, last_active_at, idle_ttl_ms, " +
    "expires_at, status, claim_holder, claim_until FROM sessions WHERE tenant = ? AND id = ?",
  /** bumpAfterAppend that also takes (or, with nulls, releases) the turn claim: one UPDATE of the row. */
  bumpAfterClaimedAppend:
    "UPDATE sessions SET version = ?, item_count = ?, token_count = ?, item_bytes = ?, updated_at = ?, " +
    "last_active_at = ?, claim_holder = ?, claim_until = ? WHERE rid = ?",
  setClaim: "UPDATE sessions SET claim_holder = ?, claim_until = ? WHERE rid = ?",
  renewClaim: "UPDATE sessions SET claim_until = ? WHERE rid = ? AND claim_holder = ?",
  releaseClaim:
    "UPDATE sessions SET claim_holder = NULL, claim_until = NULL WHERE tenant = ? AND id = ? AND claim_holder = ?",
  insertItem:
    "INSERT INTO items (session_rid, seq, id, type, role, status, call_id, content, tokens, cum_tokens, bytes, " +
    "turn_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  itemIdExists: "SELECT 1 FROM items WHERE session_rid = ? AND id = ?",
  operation:
    "SELECT payload_hash, version, first_seq, last_seq FROM operations WHERE session_rid = ? AND op_id = ?",
  insertOperation:
    "INSERT INTO operations (session_rid, op_id, payload_hash, version, first_seq, last_seq, created_at) " +
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
  /** Item columns in the order `rowToItem` reads them (type, role and status come from content). */
  itemsAsc:
    "SELECT content, seq, id, tokens, bytes, turn_id, created_at FROM items " +
    "WHERE session_rid = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?",
  itemsDesc:
    "SELECT content, seq, id, tokens, bytes, turn_id, created_at FROM items " +
    "WHERE session_rid = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?",
  itemById:
    "SELECT content, seq, id, tokens, bytes, turn_id, created_at FROM items WHERE session_rid = ? AND id = ?",
  /** The window start: the first item whose running total reaches the floor (covering index). */
  windowStart:
    "SELECT seq FROM items WHERE session_rid = ? AND cum_tokens >= ? ORDER BY cum_tokens, seq LIMIT 1",
  /** Window rows need no seq: seq is dense, so it is the start plus the row's position. */
  windowItems:
    "SELECT content, id, tokens, bytes, turn_id, created_at FROM items WHERE session_rid = ? AND seq > ? ORDER BY seq",
  /** Window rows of a session with deleted items: seqs have gaps, so each row brings its own. */
  windowItemsWithSeq:
    "SELECT content, seq, id, tokens, bytes, turn_id, created_at FROM items WHERE session_rid = ? AND seq > ? ORDER BY seq",
  prefixTotals:
    "SELECT coalesce(max(cum_tokens), 0) AS tokens, coalesce(sum(bytes), 0) AS bytes, count(*) AS count FROM items " +
    "WHERE session_rid = ? AND seq <= ?",
  copyPrefix:
    "INSERT INTO items (session_rid, seq, id, type, role, status, call_id, content, tokens, cum_tokens, bytes, " +
    "turn_id, created_at) SELECT ?, seq, id, type, role, status, call_id, content, tokens, cum_tokens, bytes, " +
    "turn_id, created_at FROM items WHERE session_rid = ? AND seq <= ? ORDER BY seq",
} as const;

/** Window rows in `rowToItem` order without `count` item types (bound after the rid and start). */
export function windowItemsExcludingSql(count: number): string {
  const marks = Array.from({ length: count }, () => "?").join(", ");
  return (
    "SELECT content, seq, id, tokens, bytes, turn_id, created_at FROM items " +
    `WHERE session_rid = ? AND seq > ? AND type NOT IN (${marks}) ORDER BY seq`
  );
}

/** Builds the keyset-paginated list query; the SQL text depends only on which filters are set. */
export function listSql(query: DriverListQuery): { sql: string; params: Record<string, string | number> } {
  const where = ["tenant = $tenant", VISIBLE_SQL];
  const params: Record<string, string | number> = { now: query.now, limit: query.limit };
  if (query.owner !== undefined) {
    where.push("owner = $owner");
    params.owner = query.owner;
  }
  if (query.status !== undefined) {
    where.push("status = $status");
    params.status = query.status;
  }
  if (query.label !== undefined) {
    where.push("EXISTS (SELECT 1 FROM json_each(sessions.labels) WHERE json_each.value = $label)");
    params.label = query.label;
  }
  if (query.updatedBefore !== undefined) {
    where.push("updated_at < $updatedBefore");
    params.updatedBefore = query.updatedBefore;
  }
  if (query.updatedAfter !== undefined) {
    where.push("updated_at > $updatedAfter");
    params.updatedAfter = query.updatedAfter;
  }
  if (query.createdBefore !== undefined) {
    where.push("created_at < $createdBefore");
    params.createdBefore = query.createdBefore;
  }
  if (query.createdAfter !== undefined) {
    where.push("created_at > $createdAfter");
    params.createdAfter = query.createdAfter;
  }
  if (query.minBytes !== undefined) {
    where.push(`${SORT_SQL.bytes} >= $minBytes`);
    params.minBytes = query.minBytes;
  }
  if (query.maxBytes !== undefined) {
    where.push(`${SORT_SQL.bytes} <= $maxBytes`);
    params.maxBytes = query.maxBytes;
  }
  if (query.forkOf !== undefined) {
    where.push("fork_parent_id = $forkOf");
    params.forkOf = query.forkOf;
  }
  const dir = query.order === "asc" ? "ASC" : "DESC";
  const key = SORT_SQL[query.sort];
  if (query.after !== undefined) {
    where.push(`(${key}, id) ${query.order === "asc" ? ">" : "<"} ($afterValue, $afterId)`);
    params.afterValue = query.after.value;
    params.afterId = query.after.id;
  }
  const sql =
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE ${where.join(" AND ")} ` +
    `ORDER BY ${key} ${dir}, id ${dir} LIMIT $limit`;
  return { sql, params };
}

/**
 * The SQL of each list sort key. `bytes` is `sessionBytes()`: item bytes plus the UTF-8 length of
 * the state. Only `created` has an index; the others sort the tenant's rows (a top-N sort, about
 * 115–150 ms of CPU per page at 100,000 sessions, docs/observability.md) because an index on a counter
 * would be rewritten by every append: it measured as twice the append's CPU time.
 */
export const SORT_SQL: Readonly<Record<ListSort, string>> = Object.freeze({
  created: "created_at",
  updated: "updated_at",
  items: "(item_count - deleted_items)",
  bytes: "(item_bytes + length(CAST(state AS BLOB)))",
});

/** The visibility rule of driver.ts on a session row. */
export function rowVisible(
  row: Pick<SessionHead, "last_active_at" | "idle_ttl_ms" | "expires_at">,
  now: number,
): boolean {
  if (row.idle_ttl_ms !== null && row.last_active_at + row.idle_ttl_ms <= now) return false;
  return row.expires_at === null || row.expires_at > now;
}

/*
 * Session rows are read as arrays and mapped here: node:sqlite builds a row object property by
 * property (6.8 µs for the 21 columns of a session row, measured), an array plus this literal
 * costs 4.7 µs. The column orders are those of SESSION_COLUMNS and SQL.headByKey /
 * SQL.appendHeadByKey.
 */

/** A `SESSION_COLUMNS` row read as an array → its row object. */
export function arrayToRow(a: Cell[]): SessionRow {
  return {
    rid: a[0] as number,
    tenant: a[1] as string,
    id: a[2] as string,
    owner: a[3] as string | null,
    metadata: a[4] as string,
    labels: a[5] as string,
    state: a[6] as string,
    version: a[7] as number,
    item_count: a[8] as number,
    token_count: a[9] as number,
    item_bytes: a[10] as number,
    created_at: a[11] as number,
    updated_at: a[12] as number,
    last_active_at: a[13] as number,
    idle_ttl_ms: a[14] as number | null,
    expires_at: a[15] as number | null,
    status: a[16] as string,
    pinned: a[17] as number,
    fork_parent_id: a[18] as string | null,
    fork_at_seq: a[19] as number | null,
    deleted_items: a[20] as number,
  };
}

/** A `SQL.appendHeadByKey` row read as an array → its head (the first 11 columns: `SQL.headByKey`). */
export function arrayToHead(a: Cell[]): AppendHead {
  return {
    rid: a[0] as number,
    id: a[1] as string,
    version: a[2] as number,
    item_count: a[3] as number,
    deleted_items: a[4] as number,
    token_count: a[5] as number,
    item_bytes: a[6] as number,
    last_active_at: a[7] as number,
    idle_ttl_ms: a[8] as number | null,
    expires_at: a[9] as number | null,
    status: a[10] as string,
    claim_holder: (a[11] ?? null) as string | null,
    claim_until: (a[12] ?? null) as number | null,
  };
}

/** A session row → a fresh `Session` (JSON columns parsed). */
export function rowToSession(row: SessionRow): Session {
  return {
    id: row.id,
    tenant: row.tenant,
    owner: row.owner,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    labels: JSON.parse(row.labels) as string[],
    state: JSON.parse(row.state) as JsonObject,
    version: row.version,
    itemCount: row.item_count - row.deleted_items,
    lastSeq: row.item_count,
    tokenCount: row.token_count,
    bytes: sessionBytes(row.item_bytes, row.state),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastActiveAt: row.last_active_at,
    idleTtlMs: row.idle_ttl_ms,
    expiresAt: row.expires_at,
    status: row.status as SessionStatus,
    pinned: row.pinned !== 0,
    forkParent:
      row.fork_parent_id === null ? null : { sessionId: row.fork_parent_id, atSeq: row.fork_at_seq ?? 0 },
  };
}

/** Insert parameters of a new session row (the order of SQL.insertSession). */
export function sessionParams(s: Session, counters: { itemBytes: number }): (string | number | null)[] {
  return [
    s.tenant,
    s.id,
    s.owner,
    JSON.stringify(s.metadata),
    JSON.stringify(s.labels),
    JSON.stringify(s.state),
    s.version,
    s.lastSeq,
    s.tokenCount,
    counters.itemBytes,
    s.createdAt,
    s.updatedAt,
    s.lastActiveAt,
    s.idleTtlMs,
    s.expiresAt,
    s.status,
    s.pinned ? 1 : 0,
    s.forkParent?.sessionId ?? null,
    s.forkParent?.atSeq ?? null,
    s.lastSeq - s.itemCount,
  ];
}

/** One column value of a row read in array mode. */
export type Cell = string | number | null;

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** `[content, seq, id, tokens, bytes, turn_id, created_at]` → Item. */
export function rowToItem(row: readonly Cell[]): Item {
  const content = JSON.parse(row[0] as string) as JsonObject;
  return {
    seq: row[1] as number,
    id: row[2] as string,
    type: content.type as string,
    role: str(content.role),
    status: str(content.status),
    content,
    tokens: row[3] as number,
    bytes: row[4] as number,
    turnId: row[5] as string | null,
    createdAt: row[6] as number,
  };
}

/** Window rows `[content, id, tokens, bytes, turn_id, created_at]`, the first at seq `firstSeq`. */
export function windowRowsToItems(rows: readonly (readonly Cell[])[], firstSeq: number): Item[] {
  const items = new Array<Item>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const content = JSON.parse(row[0] as string) as JsonObject;
    items[i] = {
      seq: firstSeq + i,
      id: row[1] as string,
      type: content.type as string,
      role: str(content.role),
      status: str(content.status),
      content,
      tokens: row[2] as number,
      bytes: row[3] as number,
      turnId: row[4] as string | null,
      createdAt: row[5] as number,
    };
  }
  return items;
}

/** The Item a fresh append hands back: a parse of the stored JSON, never the caller's objects. */
export function preparedToItem(p: PreparedItem, seq: number): Item {
  return {
    seq,
    id: p.id,
    type: p.type,
    role: p.role,
    status: p.status,
    content: JSON.parse(p.contentJson) as JsonObject,
    tokens: p.tokens,
    bytes: p.bytes,
    turnId: p.turnId,
    createdAt: p.createdAt,
  };
}
