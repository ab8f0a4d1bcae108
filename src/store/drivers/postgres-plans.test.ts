/**
 * Shows that list, window, read and sweep queries stay off sequential scans: loads tens of
 * thousands of rows, ANALYZEs, and checks the EXPLAIN of the driver's own SQL.
 * `HOLDFAST_PRINT_PLANS=1` prints the plans (they are pasted in docs/store-postgres.md).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DriverListQuery } from "../driver.ts";
import { createPostgresDriver, type PostgresDriver } from "./postgres.ts";
import { quoteIdent } from "./postgres-schema.ts";
import { buildListQuery, buildStatements } from "./postgres-sql.ts";
import { PostgresStatsKeeper } from "./postgres-stats.ts";
import { adminQuery, dropSchema, schemaUrl, uniqueSchema } from "./postgres-test-support.ts";

const SESSIONS = 20_000;
const BIG_ITEMS = 30_000;
const TENANTS = 50;
const NOW = Date.UTC(2026, 0, 1);
const BIG = "conv_b1600000000000000000000000000000";

const schema = uniqueSchema("hf_plans");
const s = quoteIdent(schema);
let driver: PostgresDriver | undefined;
let autovacuum = true;
let analyzedByKeeper: string[] = [];

before(async () => {
  driver = await createPostgresDriver({ connectionString: schemaUrl(schema) });
  await adminQuery(`
INSERT INTO ${s}.sessions (tenant, id, owner, metadata, labels, state, version, item_count, token_count,
  item_bytes, created_at, updated_at, last_active_at, idle_ttl_ms, expires_at, status, pinned)
SELECT 't' || (g % ${TENANTS}), 'conv_' || lpad(to_hex(g), 32, '0'),
  CASE WHEN g % 3 = 0 THEN NULL ELSE 'owner' || (g % 97) END, '{}',
  CASE WHEN g % 10 = 0 THEN ARRAY['vip', 'x'] ELSE ARRAY['x'] END, '{}', 1, 0, 0, 0,
  ${NOW} - g * 1000, ${NOW} - g * 500, ${NOW} - g * 500,
  CASE WHEN g % 3 = 1 THEN 3600000 END, CASE WHEN g % 7 = 0 THEN ${NOW} + (g % 1000) * 60000 - 30000000 END,
  CASE WHEN g % 20 = 0 THEN 'archived' ELSE 'active' END, false
FROM generate_series(1, ${SESSIONS}) g`);
  await adminQuery(`
INSERT INTO ${s}.sessions (tenant, id, owner, metadata, labels, state, version, item_count, token_count,
  item_bytes, created_at, updated_at, last_active_at, status, pinned)
VALUES ('t0', '${BIG}', NULL, '{}', '{}', '{}', 2, ${BIG_ITEMS}, ${BIG_ITEMS * 20}, ${BIG_ITEMS * 60},
  ${NOW}, ${NOW}, ${NOW}, 'active', false)`);
  await adminQuery(`
INSERT INTO ${s}.items (sid, seq, id, type, role, status, call_id, content, tokens, bytes, cum_tokens, turn_id, created_at)
SELECT sess.sid, g, 'msg_' || g, 'message', 'user', NULL, NULL, '{"type":"message"}', 20, 60, g * 20, NULL, ${NOW}
FROM generate_series(1, ${BIG_ITEMS}) g, (SELECT sid FROM ${s}.sessions WHERE id = '${BIG}') sess`);
  // This server may run without autovacuum: then the driver's stats keeper must analyze.
  const keeper = new PostgresStatsKeeper({
    run: async (q) => (await adminQuery(q.text, q.values)).rows,
    quotedSchema: s,
    schema,
  });
  keeper.stop();
  autovacuum = (await adminQuery("SELECT current_setting('autovacuum') AS v")).rows[0].v === "on";
  analyzedByKeeper = await keeper.check();
  if (autovacuum) await adminQuery(`ANALYZE ${s}.sessions; ANALYZE ${s}.items;`);
});

after(async () => {
  await driver?.close();
  await dropSchema(schema);
});

async function plan(text: string, values: unknown[]): Promise<string> {
  const { rows } = await adminQuery(`EXPLAIN ${text}`, values);
  return rows.map((r) => r["QUERY PLAN"]).join("\n");
}

function assertIndexed(name: string, text: string): void {
  if (process.env.HOLDFAST_PRINT_PLANS === "1") console.log(`\n### ${name}\n\n\`\`\`\n${text}\n\`\`\``);
  assert.doesNotMatch(text, /Seq Scan on (sessions|items|operations)/, `${name}:\n${text}`);
}

describe("postgres driver: query plans stay on indexes", () => {
  it("statistics exist: analyzed by the server's autovacuum or, when it is off, by the stats keeper", async () => {
    if (!autovacuum) assert.deepEqual([...analyzedByKeeper].sort(), ["items", "sessions"]);
    else assert.deepEqual(analyzedByKeeper, []);
    const { rows } = await adminQuery(
      "SELECT count(*)::int AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname IN ('sessions', 'items') AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL",
      [schema],
    );
    assert.equal(rows[0].n, 2);
  });

  const sql = buildStatements(s);
  const list = (q: Partial<DriverListQuery>) =>
    buildListQuery(s, "t7", { order: "desc", limit: 21, now: NOW, sort: "created", ...q });

  it("list: newest first, next page, by owner, by label, by status", async () => {
    for (const [name, q] of Object.entries({
      "list (newest first)": list({}),
      "list (next page, keyset)": list({ after: { value: NOW - 5_000_000, id: "conv_x" } }),
      "list by owner": list({ owner: "owner7" }),
      "list by label": list({ label: "vip" }),
      "list by status": list({ status: "archived" }),
      "forks of a session": list({ forkOf: "conv_x" }),
    })) {
      assertIndexed(name, await plan(q.text, q.values));
    }
  });

  it("window and item reads on a 30,000-item session", async () => {
    assertIndexed("window (last 8,000 tokens)", await plan(sql.readWindow, ["t0", BIG, NOW, 8000]));
    assertIndexed(
      "read items (after seq, limit 100)",
      await plan(sql.readItems("asc"), ["t0", BIG, NOW, 29_000, 2_147_483_647, 100]),
    );
    assertIndexed("get item by id", await plan(sql.getItem, ["t0", BIG, NOW, "msg_15000"]));
    // The window really is the suffix that fits: 8,000 tokens of 20-token items.
    const w = await driver!.readWindow("t0", BIG, 8000, NOW);
    assert.equal(w.items.length, 400);
    assert.equal(w.items[0]?.seq, BIG_ITEMS - 399);
  });

  it("expiry sweeps (idle deadline, absolute expiry)", async () => {
    assertIndexed("sweep idle-expired sessions", await plan(sql.sweepIdle, [NOW, 1000]));
    assertIndexed("sweep absolutely-expired sessions", await plan(sql.sweepExpired, [NOW, 1000]));
  });
});
