/**
 * `holdfast serve` over a Postgres that fails during real traffic (a throw-away cluster stopped
 * and started again, backends terminated, a statement timeout): requests fail fast with 503
 * `unavailable`, `/readyz` names the store and recovers, nothing is half-written, traffic
 * succeeds again without a restart, and an idempotent retry gets the turn's answer.
 *
 * Two bugs this covers: a turn that ended while the store was down kept its conversation claimed
 * for the whole claim TTL after the store was back (every turn on it 409 `conversation_busy`, the
 * retry included); and a turn whose output write lost its connection stored a `failed` record,
 * so the retry the 503 asked for got that failure back instead of an answer.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { type PostgresServerHandle, startPostgresServer } from "../../test/postgres-server/index.ts";
import { type OutageApp, startOutageApp, until } from "../../test/support/outage-app.ts";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { READY_TIMEOUT_MS } from "./routes/health.ts";

const UPSTREAM_LATENCY_MS = 600;
/** Far longer than any wait below: a conversation freed only by the claim's expiry fails the test. */
const CLAIM_TTL_MS = 20_000;
const STATEMENT_TIMEOUT_MS = 1_500;
const TENANT = "default";

describe("the gateway through Postgres outages", { concurrency: 1 }, () => {
  let server: PostgresServerHandle;
  let upstream: MockUpstream;
  let hf: OutageApp;

  before(async () => {
    server = await startPostgresServer();
    upstream = await createMockUpstream({ latencyMs: UPSTREAM_LATENCY_MS });
    hf = await startOutageApp({
      storeUrl: `${server.url}?connect_timeout_ms=1000&statement_timeout_ms=${STATEMENT_TIMEOUT_MS}`,
      upstreamUrl: upstream.url,
      gateway: { busy_policy: "reject", busy_claim_ttl: CLAIM_TTL_MS },
    });
  });

  after(async () => {
    await hf?.stop();
    await upstream?.close();
    await server?.stop();
  });

  /** One statement on a connection of its own (the server is stopped in between). */
  const sql = async (text: string, values: unknown[] = []): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return await client.query(text, values);
    } finally {
      await client.end();
    }
  };
  const newConversation = async (): Promise<string> => {
    const res = await hf.call("POST", "/v1/conversations", {});
    assert.equal(res.status, 200, res.text);
    return res.body.id as string;
  };
  const turn = (conversation: string, input: string, key?: string) =>
    hf.call(
      "POST",
      "/v1/responses",
      { model: "m/mock", input, conversation },
      key ? { "idempotency-key": key } : {},
    );
  /** The stored transcript, one `type:text-or-status` per item. */
  const transcript = async (conversation: string): Promise<string[]> => {
    const { rows } = await sql(
      `SELECT i.content FROM holdfast.items i JOIN holdfast.sessions s ON s.sid = i.sid
       WHERE s.tenant = $1 AND s.id = $2 ORDER BY i.seq`,
      [TENANT, conversation],
    );
    return rows.map(({ content }) => {
      const item = JSON.parse(content as string) as {
        type: string;
        status?: string;
        content?: { text?: string }[];
      };
      return `${item.type}:${item.type === "response_record" ? item.status : (item.content?.[0]?.text ?? "")}`;
    });
  };
  const assertUnavailable = (res: { status: number; text: string; headers: Headers }, what: RegExp) => {
    assert.equal(res.status, 503, res.text);
    const { error } = JSON.parse(res.text) as { error: { type: string; code: string; message: string } };
    assert.equal(error.code, "unavailable");
    assert.equal(error.type, "server_error");
    assert.match(error.message, what);
    assert.doesNotMatch(error.message, /\n\s+at /, "no stack trace");
    assert.equal(res.headers.get("retry-after"), "1");
  };

  test("server stopped mid-turn: fast 503s, /readyz names the store; back: the retry runs the turn, the conversation is free at once", async () => {
    const conv = await newConversation();
    const first = turn(conv, "during the outage", "k-outage");
    await sleep(UPSTREAM_LATENCY_MS / 3); // its input is written; the upstream is answering
    await server.kill();
    const failed = await first;
    assertUnavailable(failed, /^The turn's answer could not be stored: Postgres at .* is unavailable/);
    assert.ok(failed.ms < UPSTREAM_LATENCY_MS + 2_000, `answered in ${failed.ms} ms`);

    // While it is down: every call that needs the store fails fast; liveness stays up.
    const ready = await hf.call("GET", "/readyz");
    assertUnavailable(ready, /^Not ready: the store \(postgres\) failed: Postgres at .* is unavailable/);
    assert.ok(ready.ms < READY_TIMEOUT_MS + 500, `readyz answered in ${ready.ms} ms`);
    assertUnavailable(await turn(conv, "another"), /Postgres at .* is unavailable/);
    assertUnavailable(await hf.call("GET", `/v1/conversations/${conv}/items`), /unavailable/);
    assert.equal((await hf.call("GET", "/healthz")).status, 200);

    await server.restart();
    const back = await until(
      () => hf.call("GET", "/readyz"),
      (r) => r.status === 200,
      10_000,
    );
    assert.equal(back.status, 200, back.text);

    // The turn that died left its input unanswered (no `failed` record: nothing could be written)
    // and gave its claim back once the store answered, not CLAIM_TTL_MS later.
    const retried = await until(
      () => turn(conv, "during the outage", "k-outage"),
      (r) => r.status !== 409,
      5_000,
      200,
    );
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.status, "completed");
    assert.deepEqual(await transcript(conv), [
      "message:during the outage",
      'message:You said: "during the outage" (3 words).',
      "response_record:completed",
    ]);
    assert.equal((await turn(conv, "after")).status, 200);
  });

  test("a connection terminated during the turn's output write: 503, then the idempotent retry gets an answer, not a stored failure", async () => {
    const conv = await newConversation();
    const locker = new pg.Client({ connectionString: server.url });
    await locker.connect();
    try {
      const first = turn(conv, "cut while writing", "k-cut");
      await sleep(UPSTREAM_LATENCY_MS / 3);
      // Holds the session row, so the output append waits on it: then its backend is terminated.
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM holdfast.sessions WHERE tenant = $1 AND id = $2 FOR UPDATE", [
        TENANT,
        conv,
      ]);
      const waiting = await until(
        async () => {
          const { rowCount } = await sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holdfast' AND wait_event_type = 'Lock'",
          );
          return { status: rowCount ?? 0 } as never;
        },
        (r) => r.status > 0,
        STATEMENT_TIMEOUT_MS - 200,
        10,
      );
      assert.equal(waiting.status, 1, "the output append waited on the row and was terminated");
      await locker.query("ROLLBACK");
      assertUnavailable(await first, /terminating connection due to administrator command/);
    } finally {
      await locker.end();
    }
    const retried = await turn(conv, "cut while writing", "k-cut");
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.status, "completed", retried.text);
    assert.deepEqual(await transcript(conv), [
      "message:cut while writing",
      'message:You said: "cut while writing" (3 words).',
      "response_record:completed",
    ]);
  });

  test("a statement timeout on the input write: 503 within it, nothing written; the retry succeeds", async () => {
    const conv = await newConversation();
    const locker = new pg.Client({ connectionString: server.url });
    await locker.connect();
    let res: Awaited<ReturnType<typeof turn>>;
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM holdfast.sessions WHERE tenant = $1 AND id = $2 FOR UPDATE", [
        TENANT,
        conv,
      ]);
      res = await turn(conv, "blocked", "k-blocked");
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
    }
    assertUnavailable(res, /statement timeout/);
    assert.ok(res.ms < STATEMENT_TIMEOUT_MS + 1_500, `answered in ${res.ms} ms`);
    assert.deepEqual(await transcript(conv), []);
    assert.equal((await turn(conv, "blocked", "k-blocked")).status, 200);
  });

  test("every pooled connection terminated between turns: the next turn succeeds", async () => {
    const conv = await newConversation();
    assert.equal((await turn(conv, "before")).status, 200);
    const { rowCount } = await sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holdfast'",
    );
    assert.ok((rowCount ?? 0) > 0);
    await sleep(50);
    const res = await turn(conv, "after");
    assert.equal(res.status, 200, res.text);
    assert.equal((await transcript(conv)).length, 6);
  });
});
