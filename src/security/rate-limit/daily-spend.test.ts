/**
 * The daily spend cap fed from finished turns: the limiter refuses a tenant's model calls once
 * its day's total reaches its cap, naming the cap, until 00:00 UTC (an injected clock crosses
 * midnight); overrides and null caps; lost adds reported; Redis shares one total between instances.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RateLimitError } from "../errors.ts";
import { createDailySpend, type SpentTurn } from "./daily-spend.ts";
import { createRateLimiter } from "./limiter.ts";
import { createMemoryRateLimitBackend } from "./memory-backend.ts";
import { createRedisRateLimitBackend } from "./redis-backend.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hf-test-daily-${randomBytes(6).toString("hex")}:`;
const redis = new Redis(URL);

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

async function refusal(promise: Promise<unknown>): Promise<RateLimitError> {
  const error = await promise.then(
    () => assert.fail("expected a 429"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RateLimitError, String(error));
  return error;
}

describe("daily spend cap", () => {
  it("refuses model calls once the day's spend reaches the cap, until 00:00 UTC", async () => {
    let now = Date.UTC(2026, 4, 10, 22, 59, 30);
    const clock = () => now;
    const spend = createDailySpend({ counter: createMemoryRateLimitBackend(), perDayUsd: 1, clock });
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend(),
      spendCap: spend.spendCap,
      clock,
    });
    const turn = { tenant: "acme", costUsd: 0.4 };
    spend.record(turn);
    spend.record(turn);
    await spend.flush();
    await limiter.reserve({ tenant: "acme" }); // 0.8 < 1
    spend.record(turn);
    await spend.flush();
    const error = await refusal(limiter.reserve({ tenant: "acme" }));
    assert.equal(error.code, "rate_limit_exceeded");
    assert.equal(error.limit, "tenant:spend");
    assert.equal(error.retryAfterSeconds, 3630); // 1 h 0 min 30 s to midnight
    assert.equal(
      error.message,
      "Tenant 'acme' reached its daily spend cap of 1 USD (spent 1.2 USD today); it resets at 00:00 UTC.",
    );
    // Requests that call no model are not stopped by it.
    await limiter.reserve({ tenant: "acme", callsModel: false });
    // Another tenant is not affected.
    await limiter.reserve({ tenant: "globex" });
    now = Date.UTC(2026, 4, 10, 23, 59, 59, 500);
    assert.equal((await refusal(limiter.reserve({ tenant: "acme" }))).retryAfterSeconds, 1);
    now = Date.UTC(2026, 4, 11, 0, 0, 0);
    await limiter.reserve({ tenant: "acme" });
  });

  it("per-tenant caps override the default, and null lifts it", async () => {
    const counter = createMemoryRateLimitBackend();
    const spend = createDailySpend({
      counter,
      perDayUsd: 1,
      perDayUsdByTenant: { vip: 100, internal: null },
    });
    assert.equal(spend.spendCap.limit("acme"), 1);
    assert.equal(spend.spendCap.limit("vip"), 100);
    assert.equal(spend.spendCap.limit("internal"), null);
    assert.equal(spend.spendCap.limit("constructor"), 1);
    const limiter = createRateLimiter({ backend: counter, spendCap: spend.spendCap });
    for (const tenant of ["acme", "vip", "internal"]) spend.record({ tenant, costUsd: 5 });
    await spend.flush();
    await refusal(limiter.reserve({ tenant: "acme" }));
    await limiter.reserve({ tenant: "vip" });
    await limiter.reserve({ tenant: "internal" });
    // Only overrides: the other tenants have no cap.
    const only = createDailySpend({ counter, perDayUsdByTenant: { vip: 1 } });
    assert.equal(only.spendCap.limit("acme"), null);
    assert.equal(only.spendCap.limit("vip"), 1);
  });

  it("adds nothing for an unpriced turn, and reports an add that failed", async () => {
    const counter = createMemoryRateLimitBackend();
    const failed: Array<[unknown, SpentTurn]> = [];
    const spend = createDailySpend({
      counter,
      perDayUsd: 1,
      onError: (error, turn) => failed.push([error, turn]),
    });
    spend.record({ tenant: "acme", costUsd: null });
    spend.record({ tenant: "acme", costUsd: 0 });
    await spend.flush();
    assert.equal(await spend.spendCap.spentToday("acme"), 0);
    const broken = createDailySpend({
      counter: {
        addSpend: async () => {
          throw new Error("down");
        },
        spentOn: async () => 0,
      },
      perDayUsd: 1,
      onError: (error, turn) => failed.push([error, turn]),
    });
    broken.record({ tenant: "acme", costUsd: 0.5 });
    await broken.flush();
    assert.equal(failed.length, 1);
    assert.deepEqual(failed[0]?.[1], { tenant: "acme", costUsd: 0.5 });
  });

  it("refuses a cap that is not a positive number, naming it", () => {
    const counter = createMemoryRateLimitBackend();
    assert.throws(() => createDailySpend({ counter, perDayUsd: 0 }), {
      code: "invalid_argument",
      message: /^perDayUsd must be a positive number/,
    });
    assert.throws(
      () => createDailySpend({ counter, perDayUsdByTenant: { acme: -1 } }),
      /perDayUsdByTenant\.acme must be a positive number/,
    );
  });

  // The config loader refused such names; createDailySpend, a library API, took them and capped nobody.
  it("refuses an override whose key is no tenant id, naming the key", () => {
    const counter = createMemoryRateLimitBackend();
    assert.throws(() => createDailySpend({ counter, perDayUsdByTenant: { vip: 5, "Acme Corp": 5 } }), {
      code: "invalid_argument",
      param: "perDayUsdByTenant.Acme Corp",
      message: /^perDayUsdByTenant\.Acme Corp is not a tenant id \(1-64 letters/,
    });
  });

  // Given to createDailySpend only, its clock decided the day but the limiter's Retry-After ran
  // on Date.now: a refusal announced a reset other than the one the counter would make.
  it("counts the day and the Retry-After on one clock, the spend cap's", async () => {
    const now = Date.UTC(2020, 1, 3, 23, 0, 0);
    const spend = createDailySpend({
      counter: createMemoryRateLimitBackend(),
      perDayUsd: 1,
      clock: () => now,
    });
    const limiter = createRateLimiter({ backend: createMemoryRateLimitBackend(), spendCap: spend.spendCap });
    spend.record({ tenant: "acme", costUsd: 2 });
    await spend.flush();
    const error = await refusal(limiter.reserve({ tenant: "acme" }));
    assert.equal(error.retryAfterSeconds, 3600, "an hour to 00:00 UTC on the spend cap's clock");
    assert.equal(spend.spendCap.clock?.(), now);
  });

  for (const [name, backend] of [
    ["memory", () => createMemoryRateLimitBackend()],
    ["Redis", () => createRedisRateLimitBackend({ redis, prefix })],
  ] as const) {
    it(`a call refused for its spend takes nothing from the buckets (${name})`, async () => {
      const counter = backend();
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const spend = createDailySpend({ counter, perDayUsd: 1 });
      const limiter = createRateLimiter({
        backend: counter,
        perKey: { requestsPerMinute: 2, tokensPerMinute: 100 },
        spendCap: spend.spendCap,
      });
      spend.record({ tenant, costUsd: 2 });
      await spend.flush();
      for (let i = 0; i < 5; i++) {
        const error = await refusal(limiter.reserve({ tenant, keyId: "k", estimatedTokens: 100 }));
        assert.equal(error.limit, "tenant:spend");
      }
      // The key's 2 requests and 100 tokens are all still there.
      await limiter.reserve({ tenant, keyId: "k", estimatedTokens: 100, callsModel: false });
      await limiter.reserve({ tenant, keyId: "k", callsModel: false });
      assert.equal(
        (await refusal(limiter.reserve({ tenant, keyId: "k", callsModel: false }))).limit,
        "key:requests",
      );
    });
  }

  it("through Redis, two instances add to and enforce one total", async () => {
    const tenant = `t-${randomBytes(4).toString("hex")}`;
    const instances = [0, 1].map(() => {
      const backend = createRedisRateLimitBackend({ redis: redis.duplicate(), prefix, closeClient: true });
      const spend = createDailySpend({ counter: backend, perDayUsd: 1 });
      return { backend, spend, limiter: createRateLimiter({ backend, spendCap: spend.spendCap }) };
    });
    try {
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
      a.spend.record({ tenant, costUsd: 0.6 });
      await a.spend.flush();
      await b.limiter.reserve({ tenant }); // 0.6 < 1 on either instance
      b.spend.record({ tenant, costUsd: 0.6 });
      await b.spend.flush();
      // 1.2 in total: each instance alone would have let it through.
      await refusal(a.limiter.reserve({ tenant }));
      await refusal(b.limiter.reserve({ tenant }));
    } finally {
      for (const { backend } of instances) await backend.close();
    }
  });
});
