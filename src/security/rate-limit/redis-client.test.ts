/**
 * The rate-limit Redis client when a check's connection drops with its answer: the check fails
 * 503 `unavailable` and its tokens are taken once, never a second time by a re-sent command.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { startReplyEatingProxy } from "../../../test/support/reply-eating-proxy.ts";
import { parseRateLimitRedis } from "../../config/rate-limit-redis.ts";
import { createRateLimiter } from "./limiter.ts";
import { createRedisRateLimitBackend } from "./redis-backend.ts";
import { createRateLimitRedisClient } from "./redis-client.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hf-test-rl-${randomBytes(6).toString("hex")}:`;
const admin = new Redis(URL);

after(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
});

describe("rate-limit Redis client: a check whose answer is lost with its connection", () => {
  it("answers unavailable and is charged once: the client's retry passes", async () => {
    const proxy = await startReplyEatingProxy(URL);
    const target = parseRateLimitRedis({ redis: proxy.url }, {});
    assert.ok(target);
    const redis = createRateLimitRedisClient(target, { commandTimeoutMs: 1000 });
    try {
      // Two requests a minute: the lost check plus its retry fit, a third request does not.
      const limiter = createRateLimiter({
        backend: createRedisRateLimitBackend({ redis, prefix }),
        perKey: { requestsPerMinute: 2 },
      });
      const check = { tenant: "t-lost", keyId: "key_1" };
      await limiter.reserve({ tenant: "t-warm", keyId: "key_1" });
      proxy.mute(true);
      const lost = limiter.reserve(check);
      await sleep(200);
      proxy.cut();
      proxy.mute(false);
      await assert.rejects(lost, { code: "unavailable" });
      // Re-sent after the reconnection, the check would have taken both tokens and this retry 429.
      await limiter.reserve(check);
      await assert.rejects(limiter.reserve(check), { code: "rate_limit_exceeded" });
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });
});
