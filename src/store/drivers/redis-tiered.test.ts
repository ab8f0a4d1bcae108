import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import type { ReplicaTarget, StoreDriver } from "../driver.ts";
import { isReplicaTarget } from "../driver.ts";
import { createTieredDriver } from "../tiered.ts";
import { createMemoryDriver } from "./memory.ts";
import { createRedisDriver } from "./redis.ts";
import { sessionKeys } from "./redis-keys.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;
const admin = new Redis(URL);
const hotErrors: unknown[] = [];

after(async () => {
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

async function hotRedis(): Promise<StoreDriver & ReplicaTarget> {
  const driver = await createRedisDriver({ url: `${URL}?prefix=${prefix}` });
  assert.ok(isReplicaTarget(driver), "the Redis driver can be a hot tier");
  return driver;
}

const msg = (text: string) => ({ content: { type: "message", role: "user", content: text } });

testStoreConformance({
  name: "tiered redis > memory",
  open: async (clock) =>
    createSessionStore(
      createTieredDriver({
        hot: await hotRedis(),
        durable: createMemoryDriver(),
        onHotError: (error) => hotErrors.push(error),
      }),
      { clock },
    ),
});

describe("redis as a hot tier", () => {
  it("raised no hot-tier error during the conformance run", () => {
    assert.deepEqual(hotErrors, []);
  });

  it("holds exact replicas, serves them, and expires them natively after retainUntil", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const hot = await hotRedis();
    const durable = createMemoryDriver();
    const store = createSessionStore(createTieredDriver({ hot, durable, hotRetentionMs: 120_000 }), {
      clock: () => clock.now,
    });
    try {
      const s = await store.create("t", { items: [msg("a")] });
      await store.get("t", s.id); // miss: hydrates the replica
      const keys = sessionKeys(prefix, "t", s.id);
      assert.equal(await admin.exists(keys[0]), 1);
      await store.append("t", s.id, [msg("b"), msg("c")]); // mirrored onto the replica
      const replica = await hot.getSession("t", s.id, clock.now);
      assert.deepEqual(replica, await durable.getSession("t", s.id, clock.now));
      assert.deepEqual(
        (await hot.readItems("t", s.id, { limit: 10, order: "asc" }, clock.now)).map(
          (i) => i.content.content,
        ),
        ["a", "b", "c"],
      );
      const ttl = await admin.pttl(keys[1]);
      assert.ok(ttl > 120_000 && ttl <= 180_000, `replica keys expire after retention + grace, pttl ${ttl}`);
      clock.now += 120_000;
      assert.equal(await hot.getSession("t", s.id, clock.now), null, "past retainUntil the replica is gone");
      assert.equal((await store.get("t", s.id)).itemCount, 3, "the durable tier still answers");
      // A mirror from the wrong version changes nothing.
      assert.equal(
        await hot.appendReplica("t", s.id, {
          fromVersion: 1,
          toVersion: 2,
          items: [],
          now: clock.now,
          retainUntil: null,
        }),
        false,
      );
      await hot.dropReplica("t", s.id);
      assert.equal(await admin.exists(...keys), 0);
    } finally {
      await store.close();
    }
  });

  it("sets a replica's native expiry from the core's clock whichever read hydrates it", async () => {
    const clock = { now: Date.UTC(2025, 0, 1) }; // far from Redis' clock on purpose
    const durable = createMemoryDriver();
    const writer = createSessionStore(durable, { clock: () => clock.now });
    const s = await writer.create("t", { items: [msg("a")] });
    const store = createSessionStore(
      createTieredDriver({ hot: await hotRedis(), durable, hotRetentionMs: 300_000 }),
      { clock: () => clock.now },
    );
    try {
      assert.equal((await store.readWindow("t", s.id, { maxTokens: 1000 })).items.length, 1);
      const ttl = await admin.pttl(sessionKeys(prefix, "t", s.id)[0]);
      assert.ok(ttl > 300_000 && ttl <= 360_000, `pttl ${ttl}`);
    } finally {
      await store.close();
    }
  });

  it("builds a replica of a long history chunk by chunk", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const hot = await hotRedis();
    const durable = createMemoryDriver();
    const store = createSessionStore(createTieredDriver({ hot, durable }), { clock: () => clock.now });
    try {
      const s = await store.create("t");
      for (let b = 0; b < 5; b++) {
        await store.append(
          "t",
          s.id,
          Array.from({ length: 1000 }, (_, i) => msg(`m${b * 1000 + i + 1}`)),
        );
      }
      await store.get("t", s.id);
      const replica = await hot.getSession("t", s.id, clock.now);
      assert.deepEqual(replica, await durable.getSession("t", s.id, clock.now));
      const tail = await hot.readItems("t", s.id, { afterSeq: 4998, limit: 5, order: "asc" }, clock.now);
      assert.deepEqual(
        tail.map((i) => [i.seq, i.content.content]),
        [
          [4999, "m4999"],
          [5000, "m5000"],
        ],
      );
      const w = await hot.readWindow("t", s.id, 1_000_000, clock.now);
      assert.equal(w.items.length, 5000);
    } finally {
      await store.close();
    }
  });
});
