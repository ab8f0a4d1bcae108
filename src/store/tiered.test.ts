import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testStoreConformance } from "../../test/store-conformance/index.ts";
import { createSessionStore } from "./core.ts";
import type { ReplicaTarget, StoreDriver } from "./driver.ts";
import { createMemoryDriver } from "./drivers/memory.ts";
import { createTieredDriver } from "./tiered.ts";

const hotMemory = () => createMemoryDriver() as StoreDriver & ReplicaTarget;

testStoreConformance({
  name: "tiered memory > memory",
  open: async (clock) =>
    createSessionStore(createTieredDriver({ hot: hotMemory(), durable: createMemoryDriver() }), { clock }),
});

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("tiered store", () => {
  it("loses nothing acknowledged when the whole hot tier is lost", async () => {
    let hot = hotMemory();
    const durable = createMemoryDriver();
    const tiered = () => createSessionStore(createTieredDriver({ hot, durable }));
    const store = tiered();
    const s = await store.create("t");
    for (let i = 0; i < 20; i++) await store.append("t", s.id, [msg(`m${i}`)], { operationId: `op${i}` });
    assert.equal((await store.readItems("t", s.id)).length, 20);
    hot = hotMemory(); // FLUSHALL
    const after = tiered();
    assert.equal((await after.get("t", s.id)).itemCount, 20);
    assert.equal((await after.readWindow("t", s.id, { maxTokens: 100_000 })).items.length, 20);
    const replay = await after.append("t", s.id, [msg("m3")], { operationId: "op3" });
    assert.equal(replay.replayed, true);
  });

  it("serves reads from the hot tier and keeps replicas exact across instances", async () => {
    const hot = hotMemory();
    const durable = createMemoryDriver();
    let durableReads = 0;
    const countingDurable: StoreDriver = new Proxy(durable, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key === "readWindow" || key === "readItems") durableReads += 1;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const a = createSessionStore(createTieredDriver({ hot, durable: countingDurable }));
    const b = createSessionStore(createTieredDriver({ hot, durable: countingDurable }));
    const s = await a.create("t");
    await a.append("t", s.id, [msg("one")]);
    await a.readWindow("t", s.id, { maxTokens: 1000 }); // miss → hydrate
    const readsAfterHydrate = durableReads;
    await b.append("t", s.id, [msg("two")]); // mirrored into the replica
    const w = await a.readWindow("t", s.id, { maxTokens: 1000 });
    assert.equal(w.items.length, 2);
    assert.equal(durableReads, readsAfterHydrate, "the window came from the hot tier");
    await b.update("t", s.id, { metadata: { k: "v" } }); // drops the replica
    assert.deepEqual((await a.get("t", s.id)).metadata, { k: "v" });
  });

  it("drops replicas after their retention so the hot tier holds only active sessions", async () => {
    const hot = hotMemory();
    let now = 1_000_000;
    const store = createSessionStore(
      createTieredDriver({ hot, durable: createMemoryDriver(), hotRetentionMs: 60_000 }),
      { clock: () => now },
    );
    const s = await store.create("t");
    await store.append("t", s.id, [msg("x")]);
    await store.get("t", s.id);
    assert.ok(await hot.getSession("t", s.id, now));
    now += 60_001;
    assert.equal(await hot.getSession("t", s.id, now), null);
    assert.equal((await store.get("t", s.id)).itemCount, 1);
  });
});
