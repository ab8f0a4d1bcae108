/**
 * The daily spend cap while its Redis is away: as for the buckets, a model call whose cap
 * cannot be read gets 503 `unavailable` (never a 500, never a pass), calls that spend nothing
 * are served, and once Redis is back the cap is read again.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type RedisServerHandle, startRedisServer } from "../test/redis-cluster/index.ts";
import { createHoldfastApp, type HoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";

describe("rate_limits.spend_per_day_usd: Redis outage", () => {
  let redis: RedisServerHandle;
  let holdfast: HoldfastApp;

  before(async () => {
    redis = await startRedisServer();
    holdfast = await createHoldfastApp({
      config: testServerConfig({
        store: "memory:",
        file: {
          models: { mock: { pricing: { input: 1, output: 1 } } },
          rate_limits: { redis: redis.url, spend_per_day_usd: 100 },
        },
      }),
      env: {},
    });
  });

  after(async () => {
    await holdfast?.close();
    await redis?.stop();
  });

  const model = () =>
    holdfast.app.inject({ method: "POST", url: "/v1/responses", payload: { model: "mock", input: "Hi" } });

  test("model calls answer 503 until Redis is back; other calls are served", async () => {
    assert.equal((await model()).statusCode, 200);
    await redis.kill(true);
    const down = await model();
    assert.equal(down.statusCode, 503, down.body);
    assert.equal((down.json() as { error: { code: string } }).error.code, "unavailable");
    assert.equal((await holdfast.app.inject({ method: "GET", url: "/v1/conversations" })).statusCode, 200);
    await redis.restart();
    const deadline = Date.now() + 15_000;
    let back = down;
    while (Date.now() < deadline) {
      back = await model();
      if (back.statusCode === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(back.statusCode, 200, back.body);
  });
});
