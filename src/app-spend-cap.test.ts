/**
 * `holdfast serve`'s daily spend cap (`rate_limits.spend_per_day_usd*`) over a real Redis: every
 * finished turn's cost counts once against its tenant's UTC day — stored or not, never a replay,
 * not given back by deleting conversations — and two instances sharing the Redis enforce one
 * cap. (The reset at 00:00 UTC, with an injected clock: daily-spend.test.ts.)
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type RedisServerHandle, startRedisServer } from "../test/redis-cluster/index.ts";
import { createHoldfastApp, type HoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";
import { createSecurity } from "./security/create-security.ts";
import { createStore } from "./store/create-store.ts";

/** One USD per token: a turn costs its total tokens in USD. */
const models = { mock: { pricing: { input: 1e6, output: 1e6 } } };
const TENANTS = ["acme", "globex", "vip", "internal", "nostore", "replay", "shared"];
const INPUT = "Hello there, how much does this cost?";

interface ErrorBody {
  error: { code: string; type: string; message: string };
}

describe("rate_limits.spend_per_day_usd in holdfast serve", () => {
  let redis: RedisServerHandle;
  let dir: string;
  let store: string;
  /** Cost of one turn with INPUT and no history. */
  let turnCost: number;
  const keys = new Map<string, string>();
  const apps: HoldfastApp[] = [];

  before(async () => {
    redis = await startRedisServer();
    dir = await mkdtemp(path.join(tmpdir(), "hf-spend-cap-"));
    store = `sqlite:${path.join(dir, "holdfast.db")}`;
    const setup = await createStore(store);
    const security = createSecurity({ store: setup });
    for (const tenant of TENANTS) {
      keys.set(tenant, (await security.apiKeys.create({ tenant, scopes: ["admin"] })).secret);
    }
    await setup.close();
    // What one turn costs, from an instance without a cap.
    const probe = await createHoldfastApp({
      config: testServerConfig({ store: "memory:", file: { models } }),
      env: {},
    });
    const res = await probe.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: { model: "mock", input: INPUT, store: false },
    });
    await probe.close();
    const usage = (res.json() as { usage: { input_tokens: number; output_tokens: number } }).usage;
    turnCost = usage.input_tokens + usage.output_tokens;
    assert.ok(turnCost > 0);
    // 2.5 turns a day by default: the third turn starts under the cap, the fourth is refused.
    const rateLimits = {
      redis: redis.url,
      spend_per_day_usd: 2.5 * turnCost,
      spend_per_day_usd_by_tenant: {
        vip: 3.5 * turnCost,
        internal: null,
        replay: 1.5 * turnCost,
        shared: 1.5 * turnCost,
      },
    };
    for (let i = 0; i < 2; i++) {
      const app = await createHoldfastApp({
        config: testServerConfig({ store, file: { models, rate_limits: rateLimits } }),
        env: {},
      });
      apps.push(app);
      assert.deepEqual(app.notices, []);
    }
  });

  after(async () => {
    for (const app of apps) await app.close();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const call = (
    tenant: string,
    method: "GET" | "POST" | "DELETE",
    url: string,
    payload?: object,
    instance = 0,
  ) =>
    apps[instance]!.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${keys.get(tenant)}` },
      ...(payload === undefined ? {} : { payload }),
    });

  /** A first turn in a new conversation: always the same cost. Returns its status and conversation. */
  async function turn(
    tenant: string,
    instance = 0,
  ): Promise<{ status: number; conversation: string; body: string }> {
    const created = await call(tenant, "POST", "/v1/conversations", {}, instance);
    assert.equal(created.statusCode, 200, created.body);
    const conversation = (created.json() as { id: string }).id;
    const res = await call(
      tenant,
      "POST",
      "/v1/responses",
      { model: "mock", input: INPUT, conversation },
      instance,
    );
    return { status: res.statusCode, conversation, body: res.body };
  }

  function assertSpendRefusal(
    res: { statusCode: number; headers: Record<string, unknown>; body: string },
    cap: number,
  ) {
    assert.equal(res.statusCode, 429, res.body);
    const { error } = JSON.parse(res.body) as ErrorBody;
    assert.equal(error.code, "rate_limit_exceeded");
    assert.equal(error.type, "spend");
    assert.match(error.message, new RegExp(`daily spend cap of ${cap} USD \\(spent [\\d.]+ USD today\\)`));
    const now = Date.now();
    const toMidnight = (Math.ceil((now + 1) / 86_400_000) * 86_400_000 - now) / 1000;
    const retryAfter = Number(res.headers["retry-after"]);
    assert.ok(
      Math.abs(retryAfter - toMidnight) <= 2,
      `Retry-After ${retryAfter}, ${toMidnight} s to midnight`,
    );
  }

  test("a tenant is served under its cap; past it the next model call is 429 until midnight, deletes give nothing back", async () => {
    const conversations: string[] = [];
    for (let i = 0; i < 3; i++) {
      const done = await turn("acme");
      assert.equal(done.status, 200, done.body);
      conversations.push(done.conversation);
    }
    // Deleting what the turns wrote does not give their spend back.
    for (const id of conversations)
      assert.equal((await call("acme", "DELETE", `/v1/conversations/${id}`)).statusCode, 200);
    const refused = await call("acme", "POST", "/v1/responses", { model: "mock", input: INPUT });
    assertSpendRefusal(refused, 2.5 * turnCost);
    const chat = await call("acme", "POST", "/v1/chat/completions", {
      model: "mock",
      messages: [{ role: "user", content: INPUT }],
    });
    assert.equal(chat.statusCode, 429, chat.body);
    // Calls that spend nothing still work: the tenant can read and clean up its data.
    assert.equal((await call("acme", "GET", "/v1/conversations")).statusCode, 200);
    assert.equal((await call("acme", "POST", "/v1/conversations", {})).statusCode, 200);
    // Another tenant under the same default cap is not affected.
    assert.equal((await turn("globex")).status, 200);
  });

  test("a per-tenant override raises the cap, and null lifts it", async () => {
    const statuses = async (tenant: string): Promise<number[]> => {
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push((await turn(tenant)).status);
      return seen;
    };
    // 3.5 turns instead of 2.5: a fourth turn starts under it, a fifth does not.
    assert.deepEqual(await statuses("vip"), [200, 200, 200, 200, 429]);
    assert.deepEqual(await statuses("internal"), [200, 200, 200, 200, 200]);
  });

  test("store: false turns count", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call("nostore", "POST", "/v1/responses", {
        model: "mock",
        input: INPUT,
        store: false,
      });
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
  });

  test("an idempotent replay is not counted twice", async () => {
    const payload = { model: "mock", input: INPUT };
    const once = { ...payload };
    const first = await apps[0]!.app.inject({
      method: "POST",
      url: "/v1/responses",
      headers: { authorization: `Bearer ${keys.get("replay")}`, "idempotency-key": "spend-once" },
      payload: once,
    });
    assert.equal(first.statusCode, 200, first.body);
    const replay = await apps[0]!.app.inject({
      method: "POST",
      url: "/v1/responses",
      headers: { authorization: `Bearer ${keys.get("replay")}`, "idempotency-key": "spend-once" },
      payload: once,
    });
    assert.equal(replay.statusCode, 200, replay.body);
    assert.equal((replay.json() as { id: string }).id, (first.json() as { id: string }).id);
    // One turn spent (under 1.5): another passes. Had the replay counted, this would be refused.
    assert.equal((await call("replay", "POST", "/v1/responses", payload)).statusCode, 200);
    assertSpendRefusal(await call("replay", "POST", "/v1/responses", payload), 1.5 * turnCost);
  });

  test("two instances sharing the Redis enforce one cap, not two", async () => {
    assert.equal((await turn("shared", 0)).status, 200);
    assert.equal((await turn("shared", 1)).status, 200);
    // 2 turns spent against 1.5: refused on both (each alone had seen one turn).
    for (const instance of [0, 1]) {
      const res = await call("shared", "POST", "/v1/responses", { model: "mock", input: INPUT }, instance);
      assertSpendRefusal(res, 1.5 * turnCost);
    }
  });
});

describe("rate_limits.spend_per_day_usd at start-up", () => {
  test("a bad cap stops the start with invalid_argument naming the key", async () => {
    const start = (rateLimits: object) =>
      createHoldfastApp({
        config: testServerConfig({ store: "memory:", file: { rate_limits: rateLimits } }),
        env: {},
      });
    await assert.rejects(start({ spend_per_day_usd: 0 }), {
      code: "invalid_argument",
      message: /^rate_limits\.spend_per_day_usd must be a positive number of USD per day \(got 0\)/,
    });
    await assert.rejects(start({ spend_per_day_usd_by_tenant: { acme: "lots" } }), {
      code: "invalid_argument",
      message: /^rate_limits\.spend_per_day_usd_by_tenant\.acme must be a positive number/,
    });
  });
});
