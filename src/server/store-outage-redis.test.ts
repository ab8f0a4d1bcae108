/**
 * Two `holdfast serve` instances over one Redis store; one of them loses its link to Redis (a
 * loopback proxy cut and refusing) in the middle of a turn, while Redis keeps serving the other.
 * The turn fails fast with 503 `unavailable`, that instance's `/readyz` names the store, and the
 * conversation's turn claim — held by the instance whose connection died — does not keep the
 * other instance out: it is given back as soon as the link is back (not only once the claim's TTL
 * ran out), and the idempotent retry on either instance runs the turn once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { type OutageApp, startOutageApp, until } from "../../test/support/outage-app.ts";
import { type ReplyEatingProxy, startReplyEatingProxy } from "../../test/support/reply-eating-proxy.ts";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";

const REDIS = "redis://127.0.0.1:6379/0";
const UPSTREAM_LATENCY_MS = 600;
/** Far longer than any wait below: a conversation freed only by the claim's expiry fails the test. */
const CLAIM_TTL_MS = 20_000;
const TENANT = "default";

describe("two instances over Redis, one loses its connection mid-turn", () => {
  const prefix = `hfout${randomBytes(4).toString("hex")}`;
  let proxy: ReplyEatingProxy;
  let upstream: MockUpstream;
  let cutOff: OutageApp;
  let other: OutageApp;
  let store: SessionStore;

  before(async () => {
    proxy = await startReplyEatingProxy(REDIS);
    upstream = await createMockUpstream({ latencyMs: UPSTREAM_LATENCY_MS });
    const gateway = { busy_policy: "reject", busy_claim_ttl: CLAIM_TTL_MS };
    cutOff = await startOutageApp({
      storeUrl: `${proxy.url}?prefix=${prefix}`,
      upstreamUrl: upstream.url,
      gateway,
    });
    other = await startOutageApp({
      storeUrl: `${REDIS}?prefix=${prefix}`,
      upstreamUrl: upstream.url,
      gateway,
    });
    store = await createStore(`${REDIS}?prefix=${prefix}`);
  });

  after(async () => {
    proxy?.down(false);
    await cutOff?.stop();
    await other?.stop();
    await store?.close();
    await upstream?.close();
    await proxy?.close();
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const turn = (app: OutageApp, conversation: string, input: string, key?: string) =>
    app.call(
      "POST",
      "/v1/responses",
      { model: "m/mock", input, conversation },
      key ? { "idempotency-key": key } : {},
    );

  test("503 while cut off; the claim it held is given back once its link is back; the retry runs once", async () => {
    const conv = (await store.create(TENANT)).id;
    const first = turn(cutOff, conv, "cut off", "k-cut");
    await sleep(UPSTREAM_LATENCY_MS / 3); // its input (and the claim) is written; the upstream answers
    proxy.down(true);
    const failed = await first;
    assert.equal(failed.status, 503, failed.text);
    assert.equal(failed.body.error?.code, "unavailable");
    assert.match(
      failed.body.error?.message ?? "",
      /^The turn's answer could not be stored: Redis is unavailable/,
    );
    assert.equal(failed.headers.get("retry-after"), "1");
    assert.ok(failed.ms < UPSTREAM_LATENCY_MS + 2_500, `answered in ${failed.ms} ms`);

    const ready = await cutOff.call("GET", "/readyz");
    assert.equal(ready.status, 503, ready.text);
    assert.match(
      ready.body.error?.message ?? "",
      /^Not ready: the store \(redis\) failed: Redis is unavailable/,
    );
    assert.equal((await other.call("GET", "/readyz")).status, 200);
    // The dead turn's claim is live in Redis: the other instance is refused, and writes nothing.
    const refused = await turn(other, conv, "meanwhile");
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.error?.code, "conversation_busy");

    proxy.down(false);
    const back = await until(
      () => cutOff.call("GET", "/readyz"),
      (r) => r.status === 200,
      5_000,
    );
    assert.equal(back.status, 200, back.text);
    const retried = await until(
      () => turn(other, conv, "cut off", "k-cut"),
      (r) => r.status !== 409,
      5_000,
      200,
    );
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.status, "completed");
    // The same retry on the instance that was cut off gets the same answer, without a second turn.
    const again = await turn(cutOff, conv, "cut off", "k-cut");
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body.output, retried.body.output);
    const items = await store.readItems(TENANT, conv);
    assert.deepEqual(
      items.map((i) => i.type),
      ["message", "message", "response_record"],
    );
    assert.equal((await turn(cutOff, conv, "after")).status, 200);
  });
});
