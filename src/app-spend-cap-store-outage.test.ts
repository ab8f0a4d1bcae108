/**
 * A turn whose answer the store could not take (its Redis link lost after the model answered)
 * was paid for all the same: it counts once against the daily spend cap and in the turn/token/
 * cost metrics. It used to count nowhere — no record, and `onTurn` was never told. The
 * idempotent retry that runs the turn again is a second paid call and counts again; the one that
 * finds the answer committed unseen replays it and counts nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { type OutageApp, startOutageApp, until } from "../test/support/outage-app.ts";
import { type ReplyEatingProxy, startReplyEatingProxy } from "../test/support/reply-eating-proxy.ts";
import { createMockUpstream, type MockUpstream } from "./mock-upstream/index.ts";

const REDIS = "redis://127.0.0.1:6379/0";
const UPSTREAM_LATENCY_MS = 600;
const INPUT = "What does a lost answer cost?";
/** One USD per token: a turn costs its total tokens in USD. */
const models = { mock: { pricing: { input: 1e6, output: 1e6 } } };

describe("the daily spend cap and metrics: a turn whose commit a store outage lost", () => {
  const prefix = `hfspendout${randomBytes(4).toString("hex")}`;
  let proxy: ReplyEatingProxy;
  let upstream: MockUpstream;
  const apps: OutageApp[] = [];

  before(async () => {
    proxy = await startReplyEatingProxy(REDIS);
    upstream = await createMockUpstream({ latencyMs: UPSTREAM_LATENCY_MS });
  });

  after(async () => {
    proxy?.down(false);
    proxy?.mute(false);
    for (const app of apps) await app.stop();
    await upstream?.close();
    await proxy?.close();
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** An instance over the proxied Redis (its own key prefix) whose cap allows `turns` turns' cost. */
  async function instance(name: string, turns: (cost: number) => number) {
    // What one first turn with INPUT costs, from an instance without a cap.
    const probe = await startOutageApp({
      storeUrl: "memory:",
      upstreamUrl: upstream.url,
      file: { models },
    });
    const probed = await probe.call("POST", "/v1/responses", { model: "m/mock", input: INPUT, store: false });
    await probe.stop();
    const usage = probed.body.usage as { input_tokens: number; output_tokens: number };
    const cost = usage.input_tokens + usage.output_tokens;
    assert.ok(cost > 0, probed.text);
    const app = await startOutageApp({
      storeUrl: `${proxy.url}?prefix=${prefix}${name}`,
      upstreamUrl: upstream.url,
      file: { models, rate_limits: { spend_per_day_usd: turns(cost) } },
    });
    apps.push(app);
    const turn = async (input: string, key?: string, conversation?: string) => {
      const conv = conversation ?? String((await app.call("POST", "/v1/conversations", {})).body.id);
      const headers: Record<string, string> = key ? { "idempotency-key": key } : {};
      return app.call("POST", "/v1/responses", { model: "m/mock", input, conversation: conv }, headers);
    };
    const metrics = async () => {
      const text = (await app.call("GET", "/metrics")).text;
      const value = (name: string) =>
        Number(new RegExp(`^${name}\\{tenant="default",model="mock"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
      return { turns: value("holdfast_turns_total"), cost: value("holdfast_cost_usd_total") };
    };
    return { app, cost, turn, metrics };
  }

  const back = (app: OutageApp) =>
    until(
      () => app.call("GET", "/readyz"),
      (r) => r.status === 200,
      5_000,
    );

  test("nothing committed: counted once; the retry that runs it again is a second paid call", async () => {
    const { app, cost, turn, metrics } = await instance("a", (c) => 3.5 * c);
    assert.equal((await turn(INPUT)).status, 200);
    const conv = String((await app.call("POST", "/v1/conversations", {})).body.id);
    const lost = turn(INPUT, "k-lost", conv);
    await sleep(UPSTREAM_LATENCY_MS / 3); // its input is written; the upstream is answering
    proxy.down(true);
    const failed = await lost;
    assert.equal(failed.status, 503, failed.text);
    assert.equal(failed.body.error?.code, "unavailable");
    proxy.down(false);
    assert.equal((await back(app)).status, 200);
    assert.deepEqual(await metrics(), { turns: 2, cost: 2 * cost });

    const retried = await until(
      () => turn(INPUT, "k-lost", conv),
      (r) => r.status !== 409,
      5_000,
      200,
    );
    assert.equal(retried.status, 200, retried.text);
    const replayed = await turn(INPUT, "k-lost", conv);
    assert.equal(replayed.status, 200, replayed.text);
    assert.deepEqual(replayed.body.output, retried.body.output);
    assert.deepEqual(await metrics(), { turns: 3, cost: 3 * cost });
    // 3 of 3.5 turns' worth spent: one more turn starts under the cap, the next is refused.
    assert.equal((await turn(INPUT)).status, 200);
    const refused = await turn(INPUT);
    assert.equal(refused.status, 429, refused.text);
    assert.match(refused.body.error?.message ?? "", /daily spend cap/);
  });

  test("committed unseen (its answer lost with the connection): counted once; the retry replays it", async () => {
    const { app, cost, turn, metrics } = await instance("b", (c) => 2.5 * c);
    assert.equal((await turn(INPUT)).status, 200);
    const conv = String((await app.call("POST", "/v1/conversations", {})).body.id);
    const lost = turn(INPUT, "k-unseen", conv);
    await sleep(UPSTREAM_LATENCY_MS / 3); // its input is written; the upstream is answering
    proxy.mute(true); // the commit reaches Redis and runs; its answer never comes back
    await sleep(UPSTREAM_LATENCY_MS);
    proxy.cut();
    proxy.mute(false);
    const failed = await lost;
    assert.equal(failed.status, 503, failed.text);
    assert.equal(failed.body.error?.code, "unavailable");
    assert.equal((await back(app)).status, 200);
    assert.deepEqual(await metrics(), { turns: 2, cost: 2 * cost });

    const replayed = await turn(INPUT, "k-unseen", conv);
    assert.equal(replayed.status, 200, replayed.text);
    assert.equal(replayed.body.status, "completed");
    assert.deepEqual(await metrics(), { turns: 2, cost: 2 * cost });
    // 2 of 2.5 turns' worth spent: one more turn starts under the cap, the next is refused.
    assert.equal((await turn(INPUT)).status, 200);
    const refused = await turn(INPUT);
    assert.equal(refused.status, 429, refused.text);
    assert.match(refused.body.error?.message ?? "", /daily spend cap/);
  });
});
