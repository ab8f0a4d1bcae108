/**
 * The lifecycle capability of the Postgres driver (LifecycleCapable in driver.ts). Scans ignore
 * visibility and page by (tenant, id); a purge of many sessions is ONE statement (data-modifying
 * CTEs over `unnest` of the targets, rows locked first), so it is atomic and costs one round
 * trip; archive stubs and restores lock the session row; leases live in `lifecycle_leases`,
 * created on first use.
 */
import type {
  LifecycleCapable,
  LifecycleScanQuery,
  PurgeResult,
  PurgeTarget,
  StorageTotalsCapable,
  StorageTotalsRow,
} from "../driver.ts";
import type { Item, Session } from "../types.ts";
import { checkLease, checkScanLimit } from "./lifecycle-shared.ts";
import type { Query, Row } from "./postgres-pool.ts";
import { toItem, toSession } from "./postgres-sql.ts";

/** What the capability needs of the driver: its connections and its quoted schema name. */
export interface PostgresLifecycleDeps {
  query: (q: Query) => Promise<Row[]>;
  read: (q: Query) => Promise<Row[]>;
  /** The schema, already quoted as an identifier. */
  quotedSchema: string;
}

const cols = (a: string): string =>
  [
    "id",
    "tenant",
    "owner",
    "metadata",
    "labels",
    "state",
    "version",
    "item_count",
    "token_count",
    "item_bytes",
  ]
    .concat(["created_at", "updated_at", "last_active_at", "idle_ttl_ms", "expires_at", "status", "pinned"])
    .concat(["fork_parent_id", "fork_parent_seq", "deleted_items"])
    .map((c) => `${a}.${c}`)
    .join(", ");

function statements(s: string) {
  return {
    items: `SELECT i.seq, i.id, i.type, i.role, i.status, i.content, i.tokens, i.bytes, i.turn_id, i.created_at
FROM ${s}.items i JOIN ${s}.sessions x ON x.sid = i.sid
WHERE x.tenant = $1 AND x.id = $2 AND i.seq > $3 ORDER BY i.seq LIMIT $4`,
    purge: `WITH t AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS t(tenant, id, version, ord)
), s AS (
  SELECT x.sid, x.status, x.item_bytes, octet_length(x.state) AS state_bytes, t.tenant, t.id, t.ord
  FROM ${s}.sessions x JOIN t ON x.tenant = t.tenant AND x.id = t.id
  WHERE t.version IS NULL OR x.version = t.version FOR UPDATE OF x
), di AS (
  DELETE FROM ${s}.items i USING s WHERE i.sid = s.sid RETURNING i.sid
), dop AS (
  DELETE FROM ${s}.operations o USING s WHERE o.sid = s.sid
), ds AS (
  DELETE FROM ${s}.sessions x USING s WHERE x.sid = s.sid
), n AS (SELECT sid, count(*) AS items FROM di GROUP BY sid)
SELECT s.tenant, s.id, s.status, s.item_bytes, s.state_bytes, coalesce(n.items, 0) AS items
FROM s LEFT JOIN n ON n.sid = s.sid ORDER BY s.ord`,
    stub: `WITH s AS (
  SELECT sid FROM ${s}.sessions WHERE tenant = $1 AND id = $2 AND version = $3 FOR UPDATE
), di AS (DELETE FROM ${s}.items i USING s WHERE i.sid = s.sid
), dop AS (DELETE FROM ${s}.operations o USING s WHERE o.sid = s.sid)
UPDATE ${s}.sessions x SET status = 'archived', idle_ttl_ms = NULL, expires_at = NULL,
  version = x.version + 1, updated_at = $4
FROM s WHERE x.sid = s.sid RETURNING ${cols("x")}`,
    restore: `WITH s AS (
  SELECT sid FROM ${s}.sessions WHERE tenant = $1 AND id = $2 AND version = $3 FOR UPDATE
), v AS (
  SELECT * FROM unnest($6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::bigint[], $14::bigint[], $15::text[], $16::bigint[])
    AS v(seq, id, type, role, status, call_id, content, tokens, bytes, turn_id, created_at)
), ins AS (
  INSERT INTO ${s}.items (sid, seq, id, type, role, status, call_id, content, tokens, bytes, cum_tokens, turn_id, created_at)
  SELECT s.sid, v.seq, v.id, v.type, v.role, v.status, v.call_id, v.content, v.tokens, v.bytes,
    sum(v.tokens) OVER (ORDER BY v.seq), v.turn_id, v.created_at
  FROM s, v
)
UPDATE ${s}.sessions x SET status = 'active', idle_ttl_ms = $4,
  item_count = greatest(x.item_count, coalesce((SELECT max(seq) FROM v), 0)),
  deleted_items = greatest(x.item_count, coalesce((SELECT max(seq) FROM v), 0)) - cardinality($6::int[]),
  token_count = (SELECT coalesce(sum(tokens), 0) FROM v), item_bytes = (SELECT coalesce(sum(bytes), 0) FROM v),
  version = x.version + 1, updated_at = $5, last_active_at = $5
FROM s WHERE x.sid = s.sid RETURNING ${cols("x")}`,
    // Per-tenant totals in one pass over the session rows (the storage gauges); bytes as
    // sessionBytes() computes them.
    totals: `SELECT tenant,
  count(*) FILTER (WHERE status = 'active' AND (idle_ttl_ms IS NULL OR idle_deadline > $1)
    AND (expires_at IS NULL OR expires_at > $1)) AS active,
  coalesce(sum(item_count - deleted_items) FILTER (WHERE status <> 'archived'), 0) AS items,
  coalesce(sum(item_bytes + octet_length(state)) FILTER (WHERE status <> 'archived'), 0) AS bytes
FROM ${s}.sessions GROUP BY tenant ORDER BY tenant`,
    leaseTable: `CREATE TABLE IF NOT EXISTS ${s}.lifecycle_leases (
  name text PRIMARY KEY, holder text NOT NULL, expires_at bigint NOT NULL)`,
    acquire: `INSERT INTO ${s}.lifecycle_leases AS l (name, holder, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE l.holder = excluded.holder OR l.expires_at <= $4 RETURNING 1`,
    renew: `UPDATE ${s}.lifecycle_leases SET expires_at = $3 WHERE name = $1 AND holder = $2 AND expires_at > $4 RETURNING 1`,
    release: `DELETE FROM ${s}.lifecycle_leases WHERE name = $1 AND holder = $2`,
  };
}

function scanQuery(s: string, q: LifecycleScanQuery): Query {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  if (q.tenant !== undefined) where.push(`x.tenant = ${param(q.tenant)}`);
  if (q.id !== undefined) where.push(`x.id = ${param(q.id)}`);
  if (q.owner !== undefined) where.push(`x.owner = ${param(q.owner)}`);
  if (q.pinned !== undefined) where.push(`x.pinned = ${param(q.pinned)}`);
  if (q.status !== undefined) where.push(`x.status = ${param(q.status)}`);
  if (q.expiredAt !== undefined) {
    const p = param(q.expiredAt);
    where.push(
      `((x.idle_ttl_ms IS NOT NULL AND x.idle_deadline <= ${p}) OR (x.expires_at IS NOT NULL AND x.expires_at <= ${p}))`,
    );
  }
  if (q.idleBefore !== undefined) where.push(`x.last_active_at < ${param(q.idleBefore)}`);
  if (q.after !== undefined)
    where.push(`(x.tenant, x.id) > (${param(q.after.tenant)}, ${param(q.after.id)})`);
  const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  return {
    text: `SELECT ${cols("x")} FROM ${s}.sessions x ${filter} ORDER BY x.tenant, x.id LIMIT ${param(q.limit)}`,
    values,
  };
}

/** 42P07 / 23505 while two instances create the lease table at once: it exists now. */
function isCreateRace(error: unknown): boolean {
  const code =
    (error as { cause?: { code?: string }; code?: string }).cause?.code ?? (error as { code?: string }).code;
  return code === "42P07" || code === "23505";
}

/** Builds the capability over the driver's connections. */
export function createPostgresLifecycle(
  deps: PostgresLifecycleDeps,
): LifecycleCapable & StorageTotalsCapable {
  const sql = statements(deps.quotedSchema);
  let leaseTable: Promise<void> | null = null;
  const ensureLeaseTable = (): Promise<void> => {
    leaseTable ??= deps.query({ text: sql.leaseTable }).then(
      () => {},
      (error: unknown) => {
        leaseTable = null;
        if (!isCreateRace(error)) throw error;
      },
    );
    return leaseTable;
  };

  return {
    async storageTotals(now: number): Promise<StorageTotalsRow[]> {
      const rows = await deps.read({ name: "hf_lc_totals", text: sql.totals, values: [now] });
      return rows.map((r) => ({
        tenant: r.tenant as string,
        sessionsActive: Number(r.active),
        items: Number(r.items),
        bytes: Number(r.bytes),
      }));
    },

    async scanSessions(query: LifecycleScanQuery): Promise<Session[]> {
      checkScanLimit(query.limit);
      return (await deps.read(scanQuery(deps.quotedSchema, query))).map(toSession);
    },

    async scanItems(tenant: string, id: string, afterSeq: number, limit: number): Promise<Item[]> {
      const rows = await deps.read({
        name: "hf_lc_items",
        text: sql.items,
        values: [tenant, id, afterSeq, limit],
      });
      return rows.map((r) => toItem(r));
    },

    async purgeSessions(targets: PurgeTarget[]): Promise<PurgeResult> {
      const result: PurgeResult = { sessions: 0, items: 0, bytes: 0, removed: [] };
      if (targets.length === 0) return result;
      const rows = await deps.query({
        name: "hf_lc_purge",
        text: sql.purge,
        values: [
          targets.map((t) => t.tenant),
          targets.map((t) => t.id),
          targets.map((t) => t.version ?? null),
        ],
      });
      for (const r of rows) {
        result.sessions++;
        result.items += Number(r.items);
        result.bytes += (r.status === "archived" ? 0 : (r.item_bytes as number)) + (r.state_bytes as number);
        result.removed.push(`${r.tenant as string}\u0000${r.id as string}`);
      }
      return result;
    },

    async archiveStub(tenant, id, change): Promise<Session | null> {
      const rows = await deps.query({
        name: "hf_lc_stub",
        text: sql.stub,
        values: [tenant, id, change.version, change.now],
      });
      return rows[0] ? toSession(rows[0]) : null;
    },

    async restoreItems(tenant, id, change): Promise<Session | null> {
      const it = change.items;
      const callId = (i: Item): string | null =>
        typeof i.content.call_id === "string" ? i.content.call_id : null;
      const rows = await deps.query({
        name: "hf_lc_restore",
        text: sql.restore,
        values: [
          tenant,
          id,
          change.version,
          change.idleTtlMs,
          change.now,
          it.map((i) => i.seq),
          it.map((i) => i.id),
          it.map((i) => i.type),
          it.map((i) => i.role),
          it.map((i) => i.status),
          it.map(callId),
          it.map((i) => JSON.stringify(i.content)),
          it.map((i) => i.tokens),
          it.map((i) => i.bytes),
          it.map((i) => i.turnId),
          it.map((i) => i.createdAt),
        ],
      });
      return rows[0] ? toSession(rows[0]) : null;
    },

    async acquireLease(name, holder, ttlMs, now): Promise<boolean> {
      checkLease(holder, ttlMs);
      await ensureLeaseTable();
      const rows = await deps.query({
        name: "hf_lc_acquire",
        text: sql.acquire,
        values: [name, holder, now + ttlMs, now],
      });
      return rows.length === 1;
    },

    async renewLease(name, holder, ttlMs, now): Promise<boolean> {
      checkLease(holder, ttlMs);
      await ensureLeaseTable();
      const rows = await deps.query({
        name: "hf_lc_renew",
        text: sql.renew,
        values: [name, holder, now + ttlMs, now],
      });
      return rows.length === 1;
    },

    async releaseLease(name, holder): Promise<void> {
      await ensureLeaseTable();
      await deps.query({ name: "hf_lc_release", text: sql.release, values: [name, holder] });
    },
  };
}
