/**
 * The Postgres driver's guarded session writes — update, delete session, delete items: each
 * checks visibility and `expectedVersion` against the session row, and says why when it cannot write.
 */
import type pg from "pg";
import type { DriverWrite, SessionChanges } from "../driver.ts";
import {
  ConflictError,
  type HoldfastError,
  NotFoundError,
  sessionNotFound,
  versionConflict,
} from "../errors.ts";
import type { Session } from "../types.ts";
import type { PostgresConnections, Row } from "./postgres-pool.ts";
import { type Statements, toSession } from "./postgres-sql.ts";

/** Seq and version are `integer` columns; larger inputs are clamped (they can never match). */
export const MAX_INT = 2_147_483_647;
export const clampInt = (n: number | undefined): number | null =>
  n === undefined ? null : Math.min(n, MAX_INT);

/** What the guarded writes run against: the pool, the prepared statements, the quoted schema. */
export interface GuardedWriteContext {
  db: PostgresConnections;
  sql: Statements;
  /** The quoted schema name. */
  s: string;
}

/** The conflict when a session head row is not at the write's `expectedVersion`, else null. */
function headVersionConflict(id: string, head: Row, write: DriverWrite): HoldfastError | null {
  if (write.expectedVersion !== undefined && head.version !== write.expectedVersion) {
    return versionConflict(id, write.expectedVersion, head.version as number);
  }
  return null;
}

/**
 * Locks the visible session row inside transaction `c` and checks its version. Statements after
 * the lock see every append committed before it, so no item of a racing append is missed.
 */
async function lockHead(
  ctx: GuardedWriteContext,
  c: pg.PoolClient,
  tenant: string,
  id: string,
  write: DriverWrite,
): Promise<Row> {
  const { rows } = await c.query({
    name: "hf_head_lock",
    text: ctx.sql.headForUpdate,
    values: [tenant, id, write.now],
  });
  const head = rows[0] as Row | undefined;
  if (!head) throw sessionNotFound(id);
  const conflict = headVersionConflict(id, head, write);
  if (conflict) throw conflict;
  return head;
}

/** Why a guarded write touched no row: the session is invisible, or its version moved. */
async function writeFailure(
  ctx: GuardedWriteContext,
  tenant: string,
  id: string,
  write: DriverWrite,
): Promise<HoldfastError> {
  const [head] = await ctx.db.read({
    name: "hf_head",
    text: ctx.sql.head,
    values: [tenant, id, write.now],
  });
  if (!head) return sessionNotFound(id);
  return (
    headVersionConflict(id, head, write) ??
    new ConflictError(`Session '${id}' changed during the write; retry.`, {
      param: "expected_version",
    })
  );
}

/** One UPDATE setting only the changed columns, guarded by visibility and version. */
export async function updateSessionRow(
  ctx: GuardedWriteContext,
  tenant: string,
  id: string,
  changes: SessionChanges,
  write: DriverWrite,
): Promise<Session> {
  const values: unknown[] = [tenant, id, write.now];
  const set: string[] = [];
  const assign = (column: string, value: unknown): void => {
    values.push(value);
    set.push(`${column} = $${values.length}`);
  };
  if (changes.owner !== undefined) assign("owner", changes.owner);
  if (changes.metadata !== undefined) assign("metadata", JSON.stringify(changes.metadata));
  if (changes.labels !== undefined) assign("labels", changes.labels);
  if (changes.idleTtlMs !== undefined) assign("idle_ttl_ms", changes.idleTtlMs);
  if (changes.expiresAt !== undefined) assign("expires_at", changes.expiresAt);
  if (changes.pinned !== undefined) assign("pinned", changes.pinned);
  if (changes.status !== undefined) assign("status", changes.status);
  if (changes.state !== undefined) assign("state", JSON.stringify(changes.state));
  values.push(clampInt(write.expectedVersion));
  const expected = `$${values.length}`;
  const text = `UPDATE ${ctx.s}.sessions s SET ${[...set, "version = s.version + 1", "updated_at = $3"].join(", ")}
WHERE s.tenant = $1 AND s.id = $2
  AND (s.idle_ttl_ms IS NULL OR s.idle_deadline > $3) AND (s.expires_at IS NULL OR s.expires_at > $3)
  AND (${expected}::integer IS NULL OR s.version = ${expected}::integer)
RETURNING s.*`;
  const rows = await ctx.db.query({ text, values });
  if (rows[0]) return toSession(rows[0]);
  throw await writeFailure(ctx, tenant, id, write);
}

/** Deletes the session with its items and operation records, under the row lock. */
export async function deleteSessionRows(
  ctx: GuardedWriteContext,
  tenant: string,
  id: string,
  write: DriverWrite,
): Promise<void> {
  await ctx.db.transaction(async (c) => {
    const head = await lockHead(ctx, c, tenant, id, write);
    await c.query({ name: "hf_del_items", text: ctx.sql.deleteItems, values: [head.sid] });
    await c.query({ name: "hf_del_ops", text: ctx.sql.deleteOperations, values: [head.sid] });
    await c.query({ name: "hf_del_session", text: ctx.sql.deleteSession, values: [head.sid] });
  });
}

/** Deletes the named items (all or none), lowers the running token totals and bumps the session. */
export async function deleteItemRows(
  ctx: GuardedWriteContext,
  tenant: string,
  id: string,
  itemIds: string[],
  write: DriverWrite,
): Promise<Session> {
  return ctx.db.transaction(async (c) => {
    const head = await lockHead(ctx, c, tenant, id, write);
    const removed = await c.query({
      name: "hf_del_item_rows",
      text: ctx.sql.deleteItemRows,
      values: [head.sid, itemIds],
    });
    const gone = removed.rows as { id: string; seq: number; tokens: number; bytes: number }[];
    if (gone.length !== new Set(itemIds).size) {
      // Throwing rolls the transaction back: all the items or none.
      const missing = itemIds.find((itemId) => !gone.some((r) => r.id === itemId));
      throw new NotFoundError(`No item '${missing}' in session '${id}'.`, { param: "item_id" });
    }
    let tokens = 0;
    let bytes = 0;
    for (const row of gone) {
      tokens += Number(row.tokens);
      bytes += Number(row.bytes);
    }
    if (tokens > 0) {
      await c.query({
        name: "hf_lower_cum",
        text: ctx.sql.lowerCumTokens,
        values: [
          head.sid,
          gone.map((r) => r.seq),
          gone.map((r) => r.tokens),
          Math.min(...gone.map((r) => r.seq)),
        ],
      });
    }
    const bumped = await c.query({
      name: "hf_bump_after_delete",
      text: ctx.sql.bumpAfterDelete,
      values: [head.sid, gone.length, tokens, bytes, write.now],
    });
    return toSession(bumped.rows[0]!);
  });
}
