/**
 * The daily spend totals of both rate-limit backends: exact sums (integer nano-dollars), one
 * total per tenant per UTC day, Redis keys hash-tagged by tenant with a TTL, bad input refused.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { InvalidArgumentError } from "../../store/errors.ts";
import { isSpendCounter, type RateLimitBackend, type SpendCounter, utcDay } from "./backend.ts";
import { createMemoryRateLimitBackend } from "./memory-backend.ts";
import { createRedisRateLimitBackend } from "./redis-backend.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hf-test-spend-${randomBytes(6).toString("hex")}:`;
const redis = new Redis(URL);

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const backends: Array<[string, () => RateLimitBackend & SpendCounter]> = [
  ["memory", () => createMemoryRateLimitBackend()],
  ["redis", () => createRedisRateLimitBackend({ redis, prefix })],
];

for (const [name, create] of backends) {
  describe(`spend counter (${name})`, () => {
    it("sums exactly, per tenant and per day", async () => {
      const counter = create();
      assert.ok(isSpendCounter(counter));
      // Ten dimes are one dollar; a float sum says 0.9999999999999999.
      for (let i = 0; i < 10; i++) await counter.addSpend("acme", "2026-03-01", 0.1);
      assert.equal(await counter.spentOn("acme", "2026-03-01"), 1);
      await counter.addSpend("acme", "2026-03-02", 0.25);
      await counter.addSpend("globex", "2026-03-01", 7);
      await counter.addSpend("acme", "2026-03-01", 0); // an unpriced turn adds nothing
      assert.equal(await counter.spentOn("acme", "2026-03-01"), 1);
      assert.equal(await counter.spentOn("acme", "2026-03-02"), 0.25);
      assert.equal(await counter.spentOn("globex", "2026-03-01"), 7);
      assert.equal(await counter.spentOn("initech", "2026-03-01"), 0);
    });

    it("refuses a negative or non-finite spend and a day that is not YYYY-MM-DD", async () => {
      const counter = create();
      for (const usd of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(counter.addSpend("acme", "2026-03-01", usd), InvalidArgumentError);
      }
      for (const day of ["2026-3-1", "today", "2026-13-45", "2026-03-01:x"]) {
        await assert.rejects(counter.addSpend("acme", day, 1), {
          code: "invalid_argument",
          message: /^A spend day must be a UTC date as YYYY-MM-DD/,
        });
        await assert.rejects(counter.spentOn("acme", day), InvalidArgumentError);
      }
    });
  });
}

describe("spend counter (memory): past days", () => {
  it("keeps today and yesterday, and drops older days once a new day starts", async () => {
    const counter = createMemoryRateLimitBackend();
    await counter.addSpend("acme", "2026-03-01", 1);
    await counter.addSpend("acme", "2026-03-02", 2);
    await counter.addSpend("acme", "2026-03-03", 3);
    assert.equal(await counter.spentOn("acme", "2026-03-01"), 0);
    assert.equal(await counter.spentOn("acme", "2026-03-02"), 2);
    assert.equal(await counter.spentOn("acme", "2026-03-03"), 3);
  });
});

describe("spend counter (Redis): keys", () => {
  it("one key per tenant per day, in the tenant's Cluster slot, expiring two days after its last add", async () => {
    const counter = createRedisRateLimitBackend({ redis, prefix });
    const day = utcDay(Date.now());
    await counter.addSpend("acme", day, 1.5);
    const key = `${prefix}{acme}:spend:${day}`;
    // Integer nano-dollars: 1.5 USD.
    assert.equal(await redis.get(key), "1500000000");
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 2 * 86_400 - 10 && ttl <= 2 * 86_400, `ttl ${ttl}`);
  });
});

describe("utcDay", () => {
  it("is the UTC date, whatever the local time zone", () => {
    assert.equal(utcDay(Date.UTC(2026, 0, 1, 23, 59, 59, 999)), "2026-01-01");
    assert.equal(utcDay(Date.UTC(2026, 0, 2)), "2026-01-02");
  });
});
