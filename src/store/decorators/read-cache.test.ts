import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import { createMemoryDriver } from "../drivers/memory.ts";
import { ByteLru } from "./lru-bytes.ts";
import { withReadCache } from "./read-cache.ts";

testStoreConformance({
  name: "memory + read cache",
  open: async (clock) =>
    withReadCache(createSessionStore(createMemoryDriver(), { clock }), { maxBytes: 1 << 20 }),
});

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("read cache", () => {
  it("serves a hit only while the version is unchanged, even when another instance writes", async () => {
    const shared = createSessionStore(createMemoryDriver());
    const cached = withReadCache(shared);
    const s = await shared.create("t");
    await shared.append("t", s.id, [msg("one")]);
    await cached.readWindow("t", s.id, { maxTokens: 1000 });
    await cached.readWindow("t", s.id, { maxTokens: 1000 });
    assert.equal(cached.stats.hits, 1);
    // "Another instance" writes straight to the shared store, bypassing this cache.
    await shared.append("t", s.id, [msg("two")]);
    const w = await cached.readWindow("t", s.id, { maxTokens: 1000 });
    assert.equal(w.items.length, 2);
    assert.equal(cached.stats.hits, 1);
    const page = await cached.readItems("t", s.id);
    await shared.patchState("t", s.id, { moved: true });
    await shared.append("t", s.id, [msg("three")]);
    assert.equal((await cached.readItems("t", s.id)).length, page.length + 1);
  });

  it("stays within its byte budget, evicting least recently used entries", () => {
    const lru = new ByteLru<string>(100);
    lru.set("a", "a", 40);
    lru.set("b", "b", 40);
    lru.get("a");
    lru.set("c", "c", 40);
    assert.equal(lru.get("b"), undefined);
    assert.equal(lru.get("a"), "a");
    assert.ok(lru.bytes <= 100);
    lru.set("huge", "x", 1000);
    assert.equal(lru.get("huge"), undefined);
  });
});
