/**
 * Forward-only migrations of the Postgres driver. Every instance runs `migratePostgres` at
 * start-up inside one transaction holding `pg_advisory_xact_lock` keyed by the schema, so
 * instances booting together apply each migration exactly once; the others wait, then find
 * nothing to do. A database newer than this code is refused rather than guessed at.
 *
 * Text columns compared or ordered use COLLATE "C" so keyset order equals JavaScript's string
 * order (ids are ASCII), whatever the database's default collation.
 */

import { HoldfastError } from "../errors.ts";
import { refuseArchivedAppends } from "./postgres-archived-append.ts";
import { lockWaitError } from "./postgres-errors.ts";

/** Structural subset of a `pg` client: all migrations need. */
export interface MigrationClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface MigrationResult {
  /** Version found before this run (0 for a fresh schema). */
  from: number;
  to: number;
  /** Migrations this instance applied (0 when another instance had already done it). */
  applied: number;
}

/** Arbitrary constant naming Holdfast's advisory locks (first key of the two-int form). */
const LOCK_CLASS = 0x486f6c64; // "Hold"

/** Quotes an identifier already validated against `[a-z_][a-z0-9_]*`. */
export function quoteIdent(name: string): string {
  return `"${name}"`;
}

type Migration = (s: string) => string;

const MIGRATIONS: readonly Migration[] = [
  // 1: sessions, items, operation records, their indexes and the append function.
  (s) => `
CREATE TABLE ${s}.sessions (
  sid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  owner text COLLATE "C",
  metadata text NOT NULL,
  labels text[] COLLATE "C" NOT NULL,
  state text NOT NULL,
  version integer NOT NULL,
  item_count integer NOT NULL,
  token_count bigint NOT NULL,
  item_bytes bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  last_active_at bigint NOT NULL,
  idle_ttl_ms bigint,
  expires_at bigint,
  idle_deadline bigint GENERATED ALWAYS AS (last_active_at + idle_ttl_ms) STORED,
  status text COLLATE "C" NOT NULL,
  pinned boolean NOT NULL,
  fork_parent_id text,
  fork_parent_seq integer,
  -- id first: lookups give both columns, and a tenant-only list cannot pick this index (and
  -- sort a whole tenant) over sessions_list_idx, which returns rows already in list order.
  CONSTRAINT sessions_tenant_id_key UNIQUE (id, tenant)
) WITH (fillfactor = 80);
CREATE INDEX sessions_list_idx ON ${s}.sessions (tenant, created_at, id);
CREATE INDEX sessions_owner_idx ON ${s}.sessions (tenant, owner, created_at, id) WHERE owner IS NOT NULL;
-- Partial, so a list without a status filter cannot be planned on it: with the table not yet
-- analyzed, a (tenant, status, …) index was picked for plain lists and a whole tenant sorted.
CREATE INDEX sessions_archived_idx ON ${s}.sessions (tenant, created_at, id) WHERE status = 'archived';
CREATE FUNCTION ${s}.tenant_labels(t text, l text[]) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_agg(t || ' ' || x) FROM unnest(l) AS x $$;
CREATE INDEX sessions_labels_idx ON ${s}.sessions USING gin (${s}.tenant_labels(tenant, labels));
CREATE INDEX sessions_idle_idx ON ${s}.sessions (idle_deadline) WHERE idle_ttl_ms IS NOT NULL;
CREATE INDEX sessions_expires_idx ON ${s}.sessions (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE ${s}.items (
  sid bigint NOT NULL,
  seq integer NOT NULL,
  id text COLLATE "C" NOT NULL,
  type text NOT NULL,
  role text,
  status text,
  call_id text,
  content text NOT NULL,
  tokens bigint NOT NULL,
  bytes bigint NOT NULL,
  cum_tokens bigint NOT NULL,
  turn_id text,
  created_at bigint NOT NULL,
  PRIMARY KEY (sid, seq),
  CONSTRAINT items_sid_id_key UNIQUE (sid, id)
);
CREATE INDEX items_window_idx ON ${s}.items (sid, cum_tokens, seq);

CREATE TABLE ${s}.operations (
  sid bigint NOT NULL,
  op_id text COLLATE "C" NOT NULL,
  hash text NOT NULL,
  version integer NOT NULL,
  first_seq integer NOT NULL,
  last_seq integer NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (sid, op_id)
);

-- One round trip per append: lock the session row (concurrent appends queue here, so seq stays
-- dense), replay or reject a known operation id, check the version, insert the batch, bump the
-- counters and record the operation, all in the statement's transaction. Outcomes are returned,
-- not raised, so the common conflict path costs no error round trip.
CREATE FUNCTION ${s}.append_items(
  p_tenant text, p_id text, p_now bigint, p_expected integer, p_op text, p_hash text,
  p_ids text[], p_types text[], p_roles text[], p_statuses text[], p_call_ids text[],
  p_contents text[], p_tokens bigint[], p_bytes bigint[], p_turn_ids text[], p_created bigint[]
) RETURNS TABLE (outcome text, sid bigint, version integer, first_seq integer, last_seq integer)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  s record;
  o record;
  n integer := cardinality(p_ids);
BEGIN
  -- ctid: the row is locked by us, so its address stays valid for the UPDATE below.
  SELECT x.ctid, x.sid, x.version, x.item_count, x.token_count, x.last_active_at, x.idle_ttl_ms, x.expires_at
    INTO s FROM ${s}.sessions x WHERE x.tenant = p_tenant AND x.id = p_id FOR UPDATE;
  IF NOT FOUND OR (s.idle_ttl_ms IS NOT NULL AND s.last_active_at + s.idle_ttl_ms <= p_now)
     OR (s.expires_at IS NOT NULL AND s.expires_at <= p_now) THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::bigint, NULL::integer, NULL::integer, NULL::integer;
    RETURN;
  END IF;
  IF p_op IS NOT NULL THEN
    SELECT op.hash, op.version, op.first_seq, op.last_seq INTO o
      FROM ${s}.operations op WHERE op.sid = s.sid AND op.op_id = p_op;
    IF FOUND THEN
      RETURN QUERY SELECT CASE WHEN o.hash = p_hash THEN 'replayed' ELSE 'idempotency_conflict' END,
        s.sid, o.version, o.first_seq, o.last_seq;
      RETURN;
    END IF;
  END IF;
  IF p_expected IS NOT NULL AND s.version <> p_expected THEN
    RETURN QUERY SELECT 'conflict'::text, s.sid, s.version, NULL::integer, NULL::integer;
    RETURN;
  END IF;
  -- Checked under the row lock instead of caught as a unique violation, so one bad append in a
  -- combined batch does not abort the others.
  IF EXISTS (SELECT 1 FROM ${s}.items i WHERE i.sid = s.sid AND i.id = ANY (p_ids)) THEN
    RETURN QUERY SELECT 'duplicate_item'::text, s.sid, s.version, NULL::integer, NULL::integer;
    RETURN;
  END IF;
  -- One statement for the rows and the counters: each plpgsql statement costs an executor run.
  WITH ins AS (
    INSERT INTO ${s}.items (sid, seq, id, type, role, status, call_id, content, tokens, bytes, cum_tokens, turn_id, created_at)
      SELECT s.sid, s.item_count + u.ord::integer, u.id, u.type, u.role, u.status, u.call_id, u.content,
        u.tokens, u.bytes, s.token_count + sum(u.tokens) OVER (ORDER BY u.ord), u.turn_id, u.created_at
      FROM unnest(p_ids, p_types, p_roles, p_statuses, p_call_ids, p_contents, p_tokens, p_bytes, p_turn_ids, p_created)
        WITH ORDINALITY AS u(id, type, role, status, call_id, content, tokens, bytes, turn_id, created_at, ord)
      RETURNING tokens, bytes
  )
  UPDATE ${s}.sessions x SET version = x.version + 1, item_count = x.item_count + n,
      token_count = x.token_count + a.t, item_bytes = x.item_bytes + a.b,
      updated_at = p_now, last_active_at = p_now
    FROM (SELECT coalesce(sum(ins.tokens), 0) AS t, coalesce(sum(ins.bytes), 0) AS b FROM ins) a
    WHERE x.ctid = s.ctid;
  IF p_op IS NOT NULL THEN
    INSERT INTO ${s}.operations (sid, op_id, hash, version, first_seq, last_seq, created_at)
      VALUES (s.sid, p_op, p_hash, s.version + 1, s.item_count + 1, s.item_count + n, p_now);
  END IF;
  RETURN QUERY SELECT 'ok'::text, s.sid, s.version + 1, s.item_count + 1, s.item_count + n;
END
$fn$;

-- Several appends (from concurrent callers) in one transaction: one commit and one WAL flush
-- for all of them. The caller orders them by (tenant, id) so row locks are always taken in the
-- same order and two batches cannot deadlock. Item columns are flattened; p_counts says how
-- many items belong to each append.
CREATE FUNCTION ${s}.append_batch(
  p_tenants text[], p_sessions text[], p_nows bigint[], p_expected integer[], p_ops text[], p_hashes text[],
  p_counts integer[], p_ids text[], p_types text[], p_roles text[], p_statuses text[], p_call_ids text[],
  p_contents text[], p_tokens bigint[], p_bytes bigint[], p_turn_ids text[], p_created bigint[]
) RETURNS TABLE (idx integer, outcome text, sid bigint, version integer, first_seq integer, last_seq integer)
LANGUAGE plpgsql AS $fn$
DECLARE
  a integer := 1;
  b integer;
BEGIN
  FOR k IN 1 .. cardinality(p_tenants) LOOP
    b := a + p_counts[k] - 1;
    RETURN QUERY SELECT k, r.* FROM ${s}.append_items(p_tenants[k], p_sessions[k], p_nows[k], p_expected[k],
      p_ops[k], p_hashes[k], p_ids[a:b], p_types[a:b], p_roles[a:b], p_statuses[a:b], p_call_ids[a:b],
      p_contents[a:b], p_tokens[a:b], p_bytes[a:b], p_turn_ids[a:b], p_created[a:b]) r;
    a := b + 1;
  END LOOP;
END
$fn$;
`,
  // 2: deleting items. item_count stays the seq high-water mark (appends continue after it, seqs
  // are never reused); deleted_items counts the items removed since.
  (s) => `ALTER TABLE ${s}.sessions ADD COLUMN deleted_items integer NOT NULL DEFAULT 0;`,
  // 3: cheaper appends and statistics (docs/store-postgres.md, "Append throughput").
  (s) => `
-- The statements inside the append functions take array parameters; with the default
-- plan_cache_mode their custom plans always looked cheaper than the generic one (whose arrays
-- are guessed at 10 elements), so every call re-planned every statement: ~15% of a backend's
-- CPU per append. The generic plans are the same index lookups and inserts.
ALTER FUNCTION ${s}.append_items(text, text, bigint, integer, text, text, text[], text[], text[], text[],
  text[], text[], bigint[], bigint[], text[], bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${s}.append_batch(text[], text[], bigint[], integer[], text[], text[], integer[], text[],
  text[], text[], text[], text[], text[], bigint[], bigint[], text[], bigint[])
  SET plan_cache_mode = force_generic_plan;
-- No query filters or sorts on these: ANALYZE (autovacuum's or the driver's stats keeper's)
-- skips sorting samples of kilobyte-sized texts in the database collation.
ALTER TABLE ${s}.items ALTER COLUMN content SET STATISTICS 0;
ALTER TABLE ${s}.operations ALTER COLUMN hash SET STATISTICS 0;
`,
  // 4: turn claims (driver.ts DriverAppend.claim) on the session row, so deleting or purging a
  // session drops its claim. Nullable columns without a default: no table rewrite. append_claimed
  // wraps append_items: under the session's row lock it refuses another holder's unexpired claim
  // ('busy'), appends, and on success (or replay) leaves the claim taken or released — one round
  // trip, like a plain append.
  (s) => `
ALTER TABLE ${s}.sessions ADD COLUMN claim_holder text, ADD COLUMN claim_until bigint;

CREATE FUNCTION ${s}.append_claimed(
  p_holder text, p_until bigint, p_release boolean,
  p_tenant text, p_id text, p_now bigint, p_expected integer, p_op text, p_hash text,
  p_ids text[], p_types text[], p_roles text[], p_statuses text[], p_call_ids text[],
  p_contents text[], p_tokens bigint[], p_bytes bigint[], p_turn_ids text[], p_created bigint[]
) RETURNS TABLE (outcome text, sid bigint, version integer, first_seq integer, last_seq integer)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  c record;
  r record;
BEGIN
  SELECT x.sid, x.claim_holder, x.claim_until, x.last_active_at, x.idle_ttl_ms, x.expires_at
    INTO c FROM ${s}.sessions x WHERE x.tenant = p_tenant AND x.id = p_id FOR UPDATE;
  IF FOUND AND NOT ((c.idle_ttl_ms IS NOT NULL AND c.last_active_at + c.idle_ttl_ms <= p_now)
       OR (c.expires_at IS NOT NULL AND c.expires_at <= p_now))
     AND c.claim_holder IS NOT NULL AND c.claim_holder <> p_holder AND c.claim_until > p_now THEN
    RETURN QUERY SELECT 'busy'::text, c.sid, NULL::integer, NULL::integer, NULL::integer;
    RETURN;
  END IF;
  SELECT * INTO r FROM ${s}.append_items(p_tenant, p_id, p_now, p_expected, p_op, p_hash, p_ids, p_types,
    p_roles, p_statuses, p_call_ids, p_contents, p_tokens, p_bytes, p_turn_ids, p_created);
  IF r.outcome IN ('ok', 'replayed') THEN
    UPDATE ${s}.sessions x
      SET claim_holder = CASE WHEN p_release THEN NULL ELSE p_holder END,
          claim_until = CASE WHEN p_release THEN NULL ELSE p_until END
      WHERE x.sid = r.sid;
  END IF;
  RETURN QUERY SELECT r.outcome, r.sid, r.version, r.first_seq, r.last_seq;
END
$fn$ SET plan_cache_mode = force_generic_plan;
`,
  // 5: append_batch for batches holding turns' claimed appends: each append's claim (a null
  // holder for a plain one) comes first, then append_batch's arguments.
  (s) => `
CREATE FUNCTION ${s}.append_claimed_batch(
  p_holders text[], p_untils bigint[], p_releases boolean[],
  p_tenants text[], p_sessions text[], p_nows bigint[], p_expected integer[], p_ops text[], p_hashes text[],
  p_counts integer[], p_ids text[], p_types text[], p_roles text[], p_statuses text[], p_call_ids text[],
  p_contents text[], p_tokens bigint[], p_bytes bigint[], p_turn_ids text[], p_created bigint[]
) RETURNS TABLE (idx integer, outcome text, sid bigint, version integer, first_seq integer, last_seq integer)
LANGUAGE plpgsql AS $fn$
DECLARE
  a integer := 1;
  b integer;
BEGIN
  FOR k IN 1 .. cardinality(p_tenants) LOOP
    b := a + p_counts[k] - 1;
    IF p_holders[k] IS NULL THEN
      RETURN QUERY SELECT k, r.* FROM ${s}.append_items(p_tenants[k], p_sessions[k], p_nows[k], p_expected[k],
        p_ops[k], p_hashes[k], p_ids[a:b], p_types[a:b], p_roles[a:b], p_statuses[a:b], p_call_ids[a:b],
        p_contents[a:b], p_tokens[a:b], p_bytes[a:b], p_turn_ids[a:b], p_created[a:b]) r;
    ELSE
      RETURN QUERY SELECT k, r.* FROM ${s}.append_claimed(p_holders[k], p_untils[k], p_releases[k],
        p_tenants[k], p_sessions[k], p_nows[k], p_expected[k], p_ops[k], p_hashes[k], p_ids[a:b], p_types[a:b],
        p_roles[a:b], p_statuses[a:b], p_call_ids[a:b], p_contents[a:b], p_tokens[a:b], p_bytes[a:b],
        p_turn_ids[a:b], p_created[a:b]) r;
    END IF;
    a := b + 1;
  END LOOP;
END
$fn$ SET plan_cache_mode = force_generic_plan;
`,
  // 6: a session's forks (dashboard session view) are one index range, in list order. The column
  // never changes after creation, so counter updates stay HOT. (The list sorts by last update,
  // items and bytes have no index on purpose: see SORT_SQL in postgres-sql.ts.)
  (s) => `
CREATE INDEX sessions_fork_idx ON ${s}.sessions (tenant, fork_parent_id, created_at, id)
  WHERE fork_parent_id IS NOT NULL;
`,
  // 7: an append to an archived session is refused ('archived'), see postgres-archived-append.ts.
  refuseArchivedAppends,
];

/** The schema version this code writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `schema` up to `SCHEMA_VERSION` in one transaction under an advisory lock. The caller
 * passes a dedicated client (not a pool) so BEGIN/COMMIT stay on one connection.
 */
export async function migratePostgres(client: MigrationClient, schema: string): Promise<MigrationResult> {
  const s = quoteIdent(schema);
  await client.query("BEGIN");
  try {
    await client
      .query("SELECT pg_advisory_xact_lock($1::integer, hashtext($2))", [LOCK_CLASS, schema])
      .catch((error: unknown) => {
        throw lockWaitError(error, schema);
      });
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_version (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query(
      `SELECT coalesce(max(version), 0)::integer AS v FROM ${s}.schema_version`,
    );
    const from = Number(rows[0]?.v ?? 0);
    if (from > SCHEMA_VERSION) {
      throw new HoldfastError(
        "internal",
        `Postgres schema '${schema}' is at version ${from}, newer than this Holdfast (knows up to ${SCHEMA_VERSION}); upgrade Holdfast or point it at another schema.`,
        { param: "store" },
      );
    }
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version - 1]!(s));
      await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [version]);
    }
    await client.query("COMMIT");
    return { from, to: SCHEMA_VERSION, applied: SCHEMA_VERSION - from };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
