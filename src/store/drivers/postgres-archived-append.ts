/**
 * Postgres migration 7: `append_items` refuses an append to an archived session (its items may
 * be in cold storage: an archive stub) with the outcome 'archived', writing nothing; replays of
 * earlier appends still answer. Otherwise the function of migration 1 unchanged; append_batch
 * and the claimed forms call it by name, so they refuse too.
 */
export function refuseArchivedAppends(s: string): string {
  return `
CREATE OR REPLACE FUNCTION ${s}.append_items(
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
  SELECT x.ctid, x.sid, x.version, x.item_count, x.token_count, x.last_active_at, x.idle_ttl_ms, x.expires_at,
      x.status
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
  IF s.status = 'archived' THEN
    RETURN QUERY SELECT 'archived'::text, s.sid, s.version, NULL::integer, NULL::integer;
    RETURN;
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
$fn$ SET plan_cache_mode = force_generic_plan;
`;
}
