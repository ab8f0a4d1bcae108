/**
 * The SQL of the Postgres driver, built once per schema, and the row → value mapping. Hot
 * statements are named so each pooled connection parses and plans them once.
 */
import type { DriverListQuery, PreparedItem } from "../driver.ts";
import type { Item, ListSort, Session, SessionHeadInfo } from "../types.ts";
import { sessionBytes } from "./shared.ts";

/** Visibility rule of the contract, in SQL, for a sessions alias and the `now` parameter. */
function visible(alias: string, now: string): string {
  return `(${alias}.idle_ttl_ms IS NULL OR ${alias}.idle_deadline > ${now}) AND (${alias}.expires_at IS NULL OR ${alias}.expires_at > ${now})`;
}

const SESSION_COLS = `s.id, s.tenant, s.owner, s.metadata, s.labels, s.state, s.version, s.item_count,
  s.token_count, s.item_bytes, s.created_at, s.updated_at, s.last_active_at, s.idle_ttl_ms,
  s.expires_at, s.status, s.pinned, s.fork_parent_id, s.fork_parent_seq, s.deleted_items`;
/** The head's columns: no JSON column (metadata, labels, state) is read or parsed. */
const HEAD_COLS = "s.id, s.version, s.item_count, s.deleted_items, s.token_count, s.created_at, s.status";
/**
 * Item lists travel as one JSON array of tuples: ~30% faster end to end than one row per item
 * (fewer protocol rows to parse), and `content::json` embeds the stored text verbatim.
 */
const ITEM_TUPLE =
  "json_build_array(x.seq, x.id, x.type, x.role, x.status, x.content::json, x.tokens, x.bytes, x.turn_id, x.created_at)";
const ITEM_COLS = "seq, id, type, role, status, content, tokens, bytes, turn_id, created_at";
const ITEM_COLS_I = ITEM_COLS.split(", ")
  .map((c) => `i.${c} AS i_${c}`)
  .join(", ");

function params(n: number): string {
  return Array.from({ length: n }, (_, i) => `$${i + 1}`).join(", ");
}

/** Every statement of the driver for one schema (already quoted). */
export function buildStatements(s: string) {
  return Object.freeze({
    createSession: `
WITH ins AS (
  INSERT INTO ${s}.sessions (tenant, id, owner, metadata, labels, state, version, item_count, token_count,
    item_bytes, created_at, updated_at, last_active_at, idle_ttl_ms, expires_at, status, pinned,
    fork_parent_id, fork_parent_seq)
  VALUES ($1, $2, $3, $4, $5, $6, $7, cardinality($9::text[]), $8, $19, $10, $11, $12, $13, $14, $15, $16, $17, $18)
  RETURNING sid
)
INSERT INTO ${s}.items (sid, seq, id, type, role, status, call_id, content, tokens, bytes, cum_tokens, turn_id, created_at)
SELECT ins.sid, u.ord::integer, u.id, u.type, u.role, u.status, u.call_id, u.content, u.tokens, u.bytes,
  sum(u.tokens) OVER (ORDER BY u.ord), u.turn_id, u.created_at
FROM ins, unnest($9::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::bigint[],
  $26::bigint[], $27::text[], $28::bigint[])
  WITH ORDINALITY AS u(id, type, role, status, call_id, content, tokens, bytes, turn_id, created_at, ord)`,
    getSession: `SELECT ${SESSION_COLS} FROM ${s}.sessions s WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}`,
    getSessionHead: `SELECT ${HEAD_COLS} FROM ${s}.sessions s WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}`,
    append: `SELECT * FROM ${s}.append_items(${params(16)})`,
    appendBatch: `SELECT * FROM ${s}.append_batch(${params(17)})`,
    appendClaimed: `SELECT * FROM ${s}.append_claimed(${params(19)})`,
    appendClaimedBatch: `SELECT * FROM ${s}.append_claimed_batch(${params(20)})`,
    renewClaim: `UPDATE ${s}.sessions s SET claim_until = $4
WHERE s.tenant = $1 AND s.id = $2 AND s.claim_holder = $3 AND ${visible("s", "$5")} RETURNING 1 AS renewed`,
    releaseClaim: `UPDATE ${s}.sessions s SET claim_holder = NULL, claim_until = NULL
WHERE s.tenant = $1 AND s.id = $2 AND s.claim_holder = $3`,
    itemsBySeq: `SELECT ${ITEM_COLS} FROM ${s}.items WHERE sid = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`,
    readItems: (order: "asc" | "desc") => `
SELECT s.sid, (
  SELECT json_agg(${ITEM_TUPLE} ORDER BY x.seq ${order}) FROM (
    SELECT * FROM ${s}.items i WHERE i.sid = s.sid AND i.seq > $4 AND i.seq < $5 ORDER BY i.seq ${order} LIMIT $6
  ) x
) AS items
FROM ${s}.sessions s WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}`,
    getItem: `
SELECT s.sid, ${ITEM_COLS_I} FROM ${s}.sessions s
LEFT JOIN ${s}.items i ON i.sid = s.sid AND i.id = $4
WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}`,
    // The window is an index range on (sid, cum_tokens): rows whose running total reaches the
    // floor. The first of them is dropped by the driver when the floor is positive. Capping at
    // item_count keeps it consistent with the session row read in the same snapshot.
    readWindow: `
SELECT ${SESSION_COLS}, (
  SELECT json_agg(${ITEM_TUPLE} ORDER BY x.cum_tokens, x.seq) FROM ${s}.items x
  WHERE x.sid = s.sid AND x.cum_tokens >= s.token_count - $4 AND x.seq <= s.item_count
) AS items
FROM ${s}.sessions s WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}`,
    touch: `UPDATE ${s}.sessions s SET last_active_at = $3 WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}
RETURNING ${SESSION_COLS}`,
    headForUpdate: `SELECT s.sid, s.version FROM ${s}.sessions s WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")} FOR UPDATE`,
    head: `SELECT s.sid, s.version FROM ${s}.sessions s WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}`,
    deleteItems: `DELETE FROM ${s}.items WHERE sid = $1`,
    deleteOperations: `DELETE FROM ${s}.operations WHERE sid = $1`,
    deleteSession: `DELETE FROM ${s}.sessions WHERE sid = $1`,
    // Sweeps (for the lifecycle sweeper): sessions past their idle or absolute expiry, oldest
    // first, in batches; each is a range on a partial index, never a scan of live sessions.
    sweepIdle: `SELECT s.sid, s.tenant, s.id FROM ${s}.sessions s
WHERE s.idle_ttl_ms IS NOT NULL AND s.idle_deadline <= $1 ORDER BY s.idle_deadline LIMIT $2`,
    sweepExpired: `SELECT s.sid, s.tenant, s.id FROM ${s}.sessions s
WHERE s.expires_at IS NOT NULL AND s.expires_at <= $1 ORDER BY s.expires_at LIMIT $2`,
    fork: `
WITH p AS (
  SELECT s.sid, s.item_count FROM ${s}.sessions s WHERE s.tenant = $1 AND s.id = $2 AND ${visible("s", "$3")}
), src AS (
  SELECT x.* FROM ${s}.items x, p WHERE x.sid = p.sid AND x.seq <= $4
), c AS (
  INSERT INTO ${s}.sessions (tenant, id, owner, metadata, labels, state, version, item_count, token_count,
    item_bytes, created_at, updated_at, last_active_at, idle_ttl_ms, expires_at, status, pinned,
    fork_parent_id, fork_parent_seq, deleted_items)
  SELECT $1, $5, $6, $7, $8, $9, $10, $4, coalesce((SELECT max(cum_tokens) FROM src), 0),
    coalesce((SELECT sum(bytes) FROM src), 0), $11, $12, $13, $14, $15, $16, $17, $2, $4,
    $4 - (SELECT count(*) FROM src)::integer
  FROM p WHERE p.item_count >= $4
  RETURNING sid, token_count, item_bytes, deleted_items
), copied AS (
  INSERT INTO ${s}.items (sid, seq, id, type, role, status, call_id, content, tokens, bytes, cum_tokens, turn_id, created_at)
  SELECT c.sid, src.seq, src.id, src.type, src.role, src.status, src.call_id, src.content, src.tokens, src.bytes,
    src.cum_tokens, src.turn_id, src.created_at
  FROM c, src
)
SELECT (SELECT count(*) FROM p)::integer AS parents, c.token_count, c.item_bytes, c.deleted_items
FROM (SELECT 1) one LEFT JOIN c ON true`,
    // Deleting items (ItemDeleteCapable), under the session row lock taken by headForUpdate.
    deleteItemRows: `DELETE FROM ${s}.items WHERE sid = $1 AND id = ANY ($2::text[]) RETURNING id, seq, tokens, bytes`,
    // Later items keep their seqs; their running totals drop by the tokens removed before them.
    lowerCumTokens: `UPDATE ${s}.items x SET cum_tokens = x.cum_tokens - (
  SELECT coalesce(sum(d.tokens), 0) FROM unnest($2::int[], $3::bigint[]) AS d(seq, tokens) WHERE d.seq < x.seq)
WHERE x.sid = $1 AND x.seq > $4`,
    bumpAfterDelete: `UPDATE ${s}.sessions s SET version = s.version + 1, deleted_items = s.deleted_items + $2,
  token_count = s.token_count - $3, item_bytes = s.item_bytes - $4, updated_at = $5
WHERE s.sid = $1 RETURNING ${SESSION_COLS}`,
  });
}

export type Statements = ReturnType<typeof buildStatements>;

/** The list query, built from the filters present; every shape is served by an index. */
export function buildListQuery(
  s: string,
  tenant: string,
  q: DriverListQuery,
): { text: string; values: unknown[] } {
  const values: unknown[] = [tenant, q.now];
  const where = ["s.tenant = $1", visible("s", "$2")];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (q.owner !== undefined) where.push(`s.owner = ${param(q.owner)}`);
  if (q.label !== undefined) {
    where.push(`${s}.tenant_labels(s.tenant, s.labels) @> ARRAY[${param(`${tenant} ${q.label}`)}::text]`);
  }
  if (q.status !== undefined) where.push(`s.status = ${param(q.status)}`);
  if (q.updatedBefore !== undefined) where.push(`s.updated_at < ${param(q.updatedBefore)}`);
  if (q.updatedAfter !== undefined) where.push(`s.updated_at > ${param(q.updatedAfter)}`);
  if (q.createdBefore !== undefined) where.push(`s.created_at < ${param(q.createdBefore)}`);
  if (q.createdAfter !== undefined) where.push(`s.created_at > ${param(q.createdAfter)}`);
  if (q.minBytes !== undefined) where.push(`${SORT_SQL.bytes} >= ${param(q.minBytes)}`);
  if (q.maxBytes !== undefined) where.push(`${SORT_SQL.bytes} <= ${param(q.maxBytes)}`);
  if (q.forkOf !== undefined) where.push(`s.fork_parent_id = ${param(q.forkOf)}`);
  const dir = q.order === "asc" ? "ASC" : "DESC";
  const key = SORT_SQL[q.sort];
  if (q.after !== undefined) {
    const cmp = q.order === "asc" ? ">" : "<";
    where.push(`(${key}, s.id) ${cmp} (${param(q.after.value)}, ${param(q.after.id)})`);
  }
  const text = `SELECT ${SESSION_COLS} FROM ${s}.sessions s WHERE ${where.join(" AND ")}
ORDER BY ${key} ${dir}, s.id ${dir} LIMIT ${param(q.limit)}`;
  return { text, values };
}

/**
 * Each list sort key. `bytes` is `sessionBytes()`: item bytes plus the state's UTF-8 length. Only
 * `created` has an index; the others are a top-N sort of the tenant's rows (about 70–140 ms per page
 * at 100,000 sessions, docs/observability.md): an index on a counter would make every append a
 * non-HOT update (measured: 89–100% HOT without such indexes, 4–17% with them).
 */
export const SORT_SQL: Readonly<Record<ListSort, string>> = Object.freeze({
  created: "s.created_at",
  updated: "s.updated_at",
  items: "(s.item_count - s.deleted_items)",
  bytes: "(s.item_bytes + octet_length(s.state))",
});

/** A sessions row (selected with SESSION_COLS) as the contract's Session. */
export function toSession(r: Record<string, unknown>): Session {
  const state = r.state as string;
  return {
    id: r.id as string,
    tenant: r.tenant as string,
    owner: r.owner as string | null,
    metadata: JSON.parse(r.metadata as string),
    labels: r.labels as string[],
    state: JSON.parse(state),
    version: r.version as number,
    // item_count is the seq high-water mark; deleted items are counted apart.
    itemCount: (r.item_count as number) - (r.deleted_items as number),
    lastSeq: r.item_count as number,
    tokenCount: r.token_count as number,
    bytes: sessionBytes(r.item_bytes as number, state),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    lastActiveAt: r.last_active_at as number,
    idleTtlMs: r.idle_ttl_ms as number | null,
    expiresAt: r.expires_at as number | null,
    status: r.status as Session["status"],
    pinned: r.pinned as boolean,
    forkParent:
      r.fork_parent_id === null
        ? null
        : { sessionId: r.fork_parent_id as string, atSeq: r.fork_parent_seq as number },
  };
}

/** A head row (HEAD_COLS) as the session's head, by the same rules as `toSession`. */
export function toSessionHead(r: Record<string, unknown>): SessionHeadInfo {
  return {
    id: r.id as string,
    version: r.version as number,
    createdAt: r.created_at as number,
    itemCount: (r.item_count as number) - (r.deleted_items as number),
    lastSeq: r.item_count as number,
    tokenCount: r.token_count as number,
    status: r.status as SessionHeadInfo["status"],
  };
}

/** Prepared items as the column arrays `unnest` takes (id, type, role, …, created_at). */
export function itemColumns(items: PreparedItem[]): unknown[] {
  return [
    items.map((p) => p.id),
    items.map((p) => p.type),
    items.map((p) => p.role),
    items.map((p) => p.status),
    items.map((p) => p.callId),
    items.map((p) => p.contentJson),
    items.map((p) => p.tokens),
    items.map((p) => p.bytes),
    items.map((p) => p.turnId),
    items.map((p) => p.createdAt),
  ];
}

/** Items from a `json_agg` of ITEM_TUPLE (null when there are none). */
export function toItemList(tuples: unknown): Item[] {
  if (!Array.isArray(tuples)) return [];
  return tuples.map((x: unknown[]) => ({
    seq: x[0] as number,
    id: x[1] as string,
    type: x[2] as string,
    role: x[3] as string | null,
    status: x[4] as string | null,
    content: x[5] as Item["content"],
    tokens: x[6] as number,
    bytes: x[7] as number,
    turnId: x[8] as string | null,
    createdAt: x[9] as number,
  }));
}

/** An items row; `prefix` is `i_` for rows joined under the session. */
export function toItem(r: Record<string, unknown>, prefix = ""): Item {
  return {
    seq: r[`${prefix}seq`] as number,
    id: r[`${prefix}id`] as string,
    type: r[`${prefix}type`] as string,
    role: r[`${prefix}role`] as string | null,
    status: r[`${prefix}status`] as string | null,
    content: JSON.parse(r[`${prefix}content`] as string),
    tokens: r[`${prefix}tokens`] as number,
    bytes: r[`${prefix}bytes`] as number,
    turnId: r[`${prefix}turn_id`] as string | null,
    createdAt: r[`${prefix}created_at`] as number,
  };
}
