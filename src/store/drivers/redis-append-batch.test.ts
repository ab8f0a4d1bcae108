/**
 * Appends issued in one tick share batch-script calls on standalone Redis (redis-append-batch.ts).
 * Each must still get exactly the outcome it would get alone: its own version check,
 * duplicate-id check, idempotent replay and errors, in submission order.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createStore } from "../create-store.ts";
import type { SessionStore } from "../types.ts";
import { sessionKeys } from "./redis-keys.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;
const admin = new Redis(URL);
const T = "t1";

after(async () => {
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

const msg = (text: string, id?: string) => ({
  id,
  content: { type: "message", role: "user", content: text },
});

async function withStore(work: (store: SessionStore) => Promise<void>): Promise<void> {
  const store = await createStore(`${URL}?prefix=${prefix}`);
  try {
    await work(store);
  } finally {
    await store.close();
  }
}

describe("redis driver: appends batched per tick", () => {
  it("gives every append of one tick its own outcome", async () => {
    await withStore(async (store) => {
      const a = await store.create(T);
      const b = await store.create(T);
      const c = await store.create(T);
      await store.append(T, c.id, [msg("first")], { operationId: "op-c" });
      const settled = await Promise.allSettled([
        store.append(T, a.id, [msg("a1")], { expectedVersion: 1 }),
        store.append(T, a.id, [msg("a2")], { expectedVersion: 1 }), // the first one moved it to 2
        store.append(T, b.id, [msg("b1", "dup-id")]),
        store.append(T, b.id, [msg("b2", "dup-id")]), // same item id in the same session
        store.append(T, c.id, [msg("first")], { operationId: "op-c" }), // replay
        store.append(T, c.id, [msg("other")], { operationId: "op-c" }), // reused with another payload
        store.append(T, "conv_doesnotexist000", [msg("x")]),
        store.append(T, a.id, [msg("a3"), msg("a4")]),
      ]);
      const codes = settled.map((r) =>
        r.status === "fulfilled" ? "ok" : (r.reason as { code?: string }).code,
      );
      assert.deepEqual(codes, [
        "ok",
        "conflict",
        "ok",
        "conflict",
        "ok",
        "idempotency_conflict",
        "not_found",
        "ok",
      ]);
      const value = (i: number) =>
        (settled[i] as PromiseFulfilledResult<{ firstSeq: number; version: number; replayed: boolean }>)
          .value;
      assert.deepEqual([value(0).firstSeq, value(0).version], [1, 2]);
      assert.deepEqual([value(7).firstSeq, value(7).version], [2, 3]);
      assert.equal(value(4).replayed, true);
      assert.deepEqual(
        (await store.readItems(T, a.id)).map((i) => i.content.content),
        ["a1", "a3", "a4"],
      );
      assert.deepEqual(
        (await store.readItems(T, b.id)).map((i) => i.content.content),
        ["b1"],
      );
      assert.equal((await store.get(T, c.id)).itemCount, 1);
    });
  });

  it("confines a Redis error inside one append to that append", async () => {
    await withStore(async (store) => {
      const good = await store.create(T);
      const broken = await store.create(T);
      // The broken session's id map is no longer a hash: its HMGET fails with WRONGTYPE.
      const ids = sessionKeys(prefix, T, broken.id)[3];
      await admin.set(ids, "not a hash");
      const [ok, failed, ok2] = await Promise.allSettled([
        store.append(T, good.id, [msg("one")]),
        store.append(T, broken.id, [msg("two")]),
        store.append(T, good.id, [msg("three")]),
      ]);
      assert.equal(ok.status, "fulfilled");
      assert.equal(ok2.status, "fulfilled");
      assert.equal(failed.status, "rejected");
      assert.equal((failed as PromiseRejectedResult).reason.code, "internal");
      assert.match((failed as PromiseRejectedResult).reason.message, /WRONGTYPE/);
      assert.equal((await store.get(T, good.id)).itemCount, 2);
      assert.equal((await store.get(T, broken.id)).itemCount, 0);
    });
  });

  it("splits a tick of many appends into several script calls and keeps them all", async () => {
    await withStore(async (store) => {
      const sessions = await Promise.all(Array.from({ length: 10 }, () => store.create(T)));
      // 200 appends in one tick: many script calls (MAX_BATCH_APPENDS each), several in flight.
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => store.append(T, sessions[i % 10]!.id, [msg(`m${i}`)])),
      );
      for (const s of sessions) {
        const items = await store.readItems(T, s.id, { limit: 100 });
        assert.deepEqual(
          items.map((i) => i.seq),
          Array.from({ length: 20 }, (_, k) => k + 1),
        );
      }
      // Per session, seqs follow submission order.
      const firstSeqs = results.filter((_, i) => i % 10 === 3).map((r) => r.firstSeq);
      assert.deepEqual(
        firstSeqs,
        Array.from({ length: 20 }, (_, k) => k + 1),
      );
    });
  });

  it("sends appends queued in the same tick as close() before closing", async () => {
    const store = await createStore(`${URL}?prefix=${prefix}`);
    const s = await store.create(T);
    const pending = [store.append(T, s.id, [msg("one")]), store.append(T, s.id, [msg("two")])];
    await store.close();
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => r.firstSeq),
      [1, 2],
    );
    await withStore(async (again) => {
      assert.equal((await again.get(T, s.id)).itemCount, 2);
    });
  });
});
