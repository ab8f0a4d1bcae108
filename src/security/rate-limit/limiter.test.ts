import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RateLimitError } from "../errors.ts";
import { createRateLimiter, type RateLimiter } from "./limiter.ts";
import { createMemoryRateLimitBackend } from "./memory-backend.ts";
import { createRedisRateLimitBackend } from "./redis-backend.ts";

async function rejected(promise: Promise<unknown>): Promise<RateLimitError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RateLimitError, String(error));
    return error;
  }
  assert.fail("expected a rate_limit_exceeded rejection");
}

/**
 * Two requests of 100 tokens against 2 requests and 1000 tokens per minute, the first settled at
 * 7000 (6100 in debt), then a third: its request bucket is short by one (30 s), its token bucket
 * by 6200 (372 s).
 */
async function emptyRequestsAndTokens(limiter: RateLimiter): Promise<unknown> {
  const first = await limiter.reserve({ tenant: "t", keyId: "k", estimatedTokens: 100 });
  await limiter.reserve({ tenant: "t", keyId: "k", estimatedTokens: 100 });
  await first.settle(7000);
  return limiter.reserve({ tenant: "t", keyId: "k", estimatedTokens: 100 });
}

describe("rate limiter (in-process)", () => {
  it("enforces requests per minute per key, with Retry-After, and refills over time", async () => {
    const clock = { now: 1_000_000 };
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend({ clock: () => clock.now }),
      perKey: { requestsPerMinute: 3 },
    });
    for (let i = 0; i < 3; i++) await limiter.reserve({ tenant: "t", keyId: "key_a" });
    const error = await rejected(limiter.reserve({ tenant: "t", keyId: "key_a" }));
    assert.equal(error.code, "rate_limit_exceeded");
    assert.equal(error.limit, "key:requests");
    assert.equal(error.retryAfterSeconds, 20);
    await limiter.reserve({ tenant: "t", keyId: "key_b" });
    await limiter.reserve({ tenant: "other", keyId: "key_a" });
    clock.now += 20_000;
    await limiter.reserve({ tenant: "t", keyId: "key_a" });
    await rejected(limiter.reserve({ tenant: "t", keyId: "key_a" }));
  });

  it("reserves estimated tokens and settles to the actual usage (refund and debt)", async () => {
    const clock = { now: 5_000_000 };
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend({ clock: () => clock.now }),
      perOwner: { tokensPerMinute: 1000 },
    });
    const a = await limiter.reserve({ tenant: "t", owner: "alice", estimatedTokens: 800 });
    await rejected(limiter.reserve({ tenant: "t", owner: "alice", estimatedTokens: 300 }));
    await a.settle(100); // 700 refunded: 900 left
    const b = await limiter.reserve({ tenant: "t", owner: "alice", estimatedTokens: 900 });
    await b.settle(1900); // 1000 more than reserved: the bucket is now at -1000
    await b.settle(0); // only the first settle counts
    const error = await rejected(limiter.reserve({ tenant: "t", owner: "alice", estimatedTokens: 0 }));
    assert.equal(error.limit, "owner:tokens");
    assert.equal(error.retryAfterSeconds, 60);
    await limiter.reserve({ tenant: "t", owner: "bob", estimatedTokens: 1000 });
  });

  it("Retry-After is the wait of the emptiest bucket, not of the first one short", async () => {
    const clock = { now: 9_000_000 };
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend({ clock: () => clock.now }),
      perKey: { requestsPerMinute: 2, tokensPerMinute: 1000 },
    });
    const error = await rejected(emptyRequestsAndTokens(limiter));
    // Requests: 1 back in 30 s. Tokens: (100 + 6100) at 1000/min, 372 s: a retry before then fails.
    assert.equal(error.limit, "key:tokens");
    assert.equal(error.retryAfterSeconds, 372);
    clock.now += 30_000;
    await rejected(limiter.reserve({ tenant: "t", keyId: "k", estimatedTokens: 100 }));
    clock.now += 342_000;
    await limiter.reserve({ tenant: "t", keyId: "k", estimatedTokens: 100 });
  });

  it("takes all buckets or none", async () => {
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend(),
      perKey: { requestsPerMinute: 100 },
      perOwner: { requestsPerMinute: 1 },
    });
    await limiter.reserve({ tenant: "t", keyId: "k", owner: "o" });
    for (let i = 0; i < 5; i++) await rejected(limiter.reserve({ tenant: "t", keyId: "k", owner: "o" }));
    // The per-key bucket was not charged by the rejected checks: 99 more pass for another owner.
    for (let i = 0; i < 99; i++) await limiter.reserve({ tenant: "t", keyId: "k", owner: `o${i}` });
    await rejected(limiter.reserve({ tenant: "t", keyId: "k", owner: "fresh" }));
  });

  it("applies a daily spend cap per tenant, resetting at UTC midnight", async () => {
    const now = Date.UTC(2026, 0, 1, 23, 0, 0);
    const spent = new Map([
      ["rich", 5],
      ["broke", 10],
    ]);
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend(),
      spendCap: { limit: (t) => (t === "uncapped" ? null : 10), spentToday: async (t) => spent.get(t) ?? 0 },
      clock: () => now,
    });
    await limiter.reserve({ tenant: "rich" });
    await limiter.reserve({ tenant: "uncapped" });
    const error = await rejected(limiter.reserve({ tenant: "broke" }));
    assert.equal(error.limit, "tenant:spend");
    assert.equal(error.retryAfterSeconds, 3600);
  });

  it("bounds its memory with LRU eviction", async () => {
    const backend = createMemoryRateLimitBackend({ maxKeys: 2 });
    const spec = (key: string) => [{ key, capacity: 1, cost: 1 }];
    assert.deepEqual(await backend.take(spec("a")), { ok: true });
    assert.equal((await backend.take(spec("a"))).ok, false);
    await backend.take(spec("b"));
    await backend.take(spec("c")); // evicts a
    assert.deepEqual(await backend.take(spec("a")), { ok: true });
  });

  it("rejects invalid rules at construction", () => {
    assert.throws(
      () => createRateLimiter({ backend: createMemoryRateLimitBackend(), perKey: { requestsPerMinute: 0 } }),
      /perKey.requestsPerMinute/,
    );
    // A fraction of a request per minute could never admit one: refused, not an endless 429.
    assert.throws(
      () =>
        createRateLimiter({ backend: createMemoryRateLimitBackend(), perOwner: { requestsPerMinute: 0.5 } }),
      /perOwner.requestsPerMinute must be at least 1/,
    );
  });
});

describe("rate limiter (Redis, shared across instances)", () => {
  const prefix = `hf-test-rl-${randomBytes(6).toString("hex")}:`;
  const clients = [0, 1, 2].map(() => new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: false }));
  after(async () => {
    const keys = await clients[0]?.keys(`${prefix}*`);
    if (keys && keys.length > 0) await clients[0]?.del(...keys);
    await Promise.all(clients.map((c) => c.quit()));
  });

  it("3 limiter instances enforce one limit, not three", async () => {
    const limiters = clients.map((redis) =>
      createRateLimiter({
        backend: createRedisRateLimitBackend({ redis, prefix }),
        perKey: { requestsPerMinute: 30 },
      }),
    );
    const outcomes = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) => limiters[i % 3]?.reserve({ tenant: "t", keyId: "key_shared" })),
    );
    const ok = outcomes.filter((o) => o.status === "fulfilled").length;
    assert.equal(ok, 30);
    const failure = outcomes.find((o) => o.status === "rejected");
    assert.ok(failure && failure.status === "rejected" && failure.reason instanceof RateLimitError);
    assert.ok(failure.reason.retryAfterSeconds !== null && failure.reason.retryAfterSeconds >= 1);
  });

  it("Retry-After is the wait of the emptiest bucket, not of the first one short", async () => {
    const limiter = createRateLimiter({
      backend: createRedisRateLimitBackend({ redis: clients[0] as Redis, prefix }),
      perKey: { requestsPerMinute: 2, tokensPerMinute: 1000 },
    });
    const error = await rejected(emptyRequestsAndTokens(limiter));
    assert.equal(error.limit, "key:tokens");
    // 372 s, less the refill while the test ran (Redis counts on its own clock).
    const wait = error.retryAfterSeconds ?? 0;
    assert.ok(wait >= 371 && wait <= 372, `Retry-After ${wait}, the tokens' wait is 372 s`);
  });

  it("settles token reservations atomically across instances", async () => {
    const [one, two] = clients.map((redis) =>
      createRateLimiter({
        backend: createRedisRateLimitBackend({ redis, prefix }),
        perOwner: { tokensPerMinute: 1000 },
      }),
    );
    assert.ok(one && two);
    const r = await one.reserve({ tenant: "t", owner: "alice", estimatedTokens: 900 });
    await rejected(two.reserve({ tenant: "t", owner: "alice", estimatedTokens: 200 }));
    await r.settle(100);
    await two.reserve({ tenant: "t", owner: "alice", estimatedTokens: 800 });
    await rejected(one.reserve({ tenant: "t", owner: "alice", estimatedTokens: 200 }));
  });
});
