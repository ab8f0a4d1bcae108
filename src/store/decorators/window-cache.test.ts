import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import { createMemoryDriver } from "../drivers/memory.ts";
import type { Session, SessionHeadInfo } from "../types.ts";
import { DelegatingStore } from "./delegating-store.ts";
import { defaultWindowCacheBytes, withWindowCache } from "./window-cache.ts";

testStoreConformance({
  name: "memory + window cache",
  open: async (clock) =>
    withWindowCache(createSessionStore(createMemoryDriver(), { clock }), { maxBytes: 1 << 20 }),
});

const msg = (text: string, tokens = 10) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  tokens,
});
const record = (n: number) => ({ content: { type: "record", n }, tokens: 0 });
const seqs = (items: { seq: number }[]) => items.map((i) => i.seq);

describe("window cache", () => {
  it("defaults its bound to an eighth of the heap limit, within 16–256 MiB", () => {
    const mib = 1024 * 1024;
    assert.equal(defaultWindowCacheBytes(512 * mib), 64 * mib);
    assert.equal(defaultWindowCacheBytes(4288 * mib), 256 * mib);
    assert.equal(defaultWindowCacheBytes(64 * mib), 16 * mib);
    const here = defaultWindowCacheBytes();
    assert.ok(here >= 16 * mib && here <= 256 * mib, String(here));
  });

  it("extends its entry with appends made through it and answers like the store", async () => {
    const shared = createSessionStore(createMemoryDriver());
    const cached = withWindowCache(shared);
    const s = await shared.create("t");
    await cached.append("t", s.id, [msg("one"), record(1)]);
    const query = { maxTokens: 25, excludeTypes: ["record"] };
    await cached.readWindow("t", s.id, query);
    assert.equal(cached.stats.misses, 1);
    for (let n = 2; n <= 6; n++) {
      await cached.append("t", s.id, [msg(`m${n}`)]);
      await cached.append("t", s.id, [msg(`a${n}`, 3), record(n)]);
      for (const maxTokens of [0, 5, 13, 25, 1000]) {
        const q = { maxTokens, excludeTypes: ["record"] };
        assert.deepEqual(await cached.readWindow("t", s.id, q), await shared.readWindow("t", s.id, q));
      }
    }
    assert.equal(cached.stats.misses, 1);
    assert.equal(cached.stats.extended, 10);
    const w = await cached.readWindow("t", s.id, query);
    assert.ok(Object.isFrozen(w.items[0]) && Object.isFrozen(w.items[0]!.content), "shared items are frozen");
  });

  it("misses after another instance wrote, whatever it wrote", async () => {
    const shared = createSessionStore(createMemoryDriver());
    const cached = withWindowCache(shared);
    const s = await shared.create("t");
    await cached.append("t", s.id, [msg("one")]);
    const q = { maxTokens: 1000 };
    await cached.readWindow("t", s.id, q);
    // "Another instance" appends straight to the shared store, bypassing this cache.
    await shared.append("t", s.id, [msg("two")]);
    await cached.append("t", s.id, [msg("three")]);
    assert.deepEqual(seqs((await cached.readWindow("t", s.id, q)).items), [1, 2, 3]);
    assert.equal(cached.stats.hits, 0);
    await shared.update("t", s.id, { metadata: { k: "v" } });
    assert.deepEqual(seqs((await cached.readWindow("t", s.id, q)).items), [1, 2, 3]);
    assert.equal(cached.stats.hits, 0);
    assert.equal((await cached.readWindow("t", s.id, q)).items.length, 3);
    assert.equal(cached.stats.hits, 1);
  });

  it("misses after a delete and re-create elsewhere reached the same version and count", async () => {
    let now = Date.UTC(2026, 0, 1);
    const shared = createSessionStore(createMemoryDriver(), { clock: () => now });
    const cached = withWindowCache(shared);
    const s = await shared.create("t");
    await cached.append("t", s.id, [msg("mine")]);
    const q = { maxTokens: 1000 };
    await cached.readWindow("t", s.id, q);
    now += 1;
    await shared.delete("t", s.id);
    await shared.create("t", { id: s.id, items: [msg("theirs")] });
    const again = await shared.get("t", s.id);
    assert.equal(again.version, (await cached.readWindow("t", s.id, q)).sessionVersion);
    const w = await cached.readWindow("t", s.id, q);
    assert.deepEqual(
      w.items.map((i) => (i.content.content as { text: string }[])[0]!.text),
      ["theirs"],
    );
    assert.equal(cached.stats.hits, 1, "the entry seeded after the miss is used");
  });

  it("does not cache windows it cannot reproduce exactly, and stays within its byte budget", async () => {
    const shared = createSessionStore(createMemoryDriver());
    const cached = withWindowCache(shared, { maxBytes: 4096 });
    const s = await shared.create("t");
    await shared.append("t", s.id, [msg("a"), msg("b"), msg("c")]);
    // Truncated: the entry would not reach back to seq 1.
    await cached.readWindow("t", s.id, { maxTokens: 15 });
    await cached.readWindow("t", s.id, { maxTokens: 15 });
    assert.equal(cached.stats.hits, 0);
    // An excluded item with tokens: positions of the range could not be known.
    const s2 = await shared.create("t");
    await shared.append("t", s2.id, [msg("a"), { content: { type: "record" }, tokens: 4 }]);
    const q = { maxTokens: 1000, excludeTypes: ["record"] };
    await cached.readWindow("t", s2.id, q);
    await cached.readWindow("t", s2.id, q);
    assert.equal(cached.stats.hits, 0);
    const big = await shared.create("t");
    await cached.append("t", big.id, [msg("x".repeat(8000))]);
    await cached.readWindow("t", big.id, { maxTokens: 1_000_000 });
    assert.ok(cached.stats.bytes <= 4096);
  });

  it("keeps the store's own answers instead of copying them: an append's items are the window's", async () => {
    const cached = withWindowCache(createSessionStore(createMemoryDriver()));
    const s = await cached.create("t");
    const q = { maxTokens: 1000 };
    const seeded = await cached.readWindow("t", s.id, { maxTokens: 1000 });
    assert.equal(seeded.items.length, 0);
    const appended = await cached.append("t", s.id, [msg("one"), msg("two")]);
    const w = await cached.readWindow("t", s.id, q);
    assert.equal(cached.stats.hits, 1);
    assert.equal(w.items[0], appended.items[0], "the appended item itself, not a copy");
    assert.ok(Object.isFrozen(appended.items[1]!.content), "handed back frozen");
  });

  it("validates a hit by the session's head, not a read of the whole session", async () => {
    const counting = new CountingGets(createSessionStore(createMemoryDriver()));
    const cached = withWindowCache(counting);
    const s = await cached.create("t");
    await cached.append("t", s.id, [msg("one")]);
    const q = { maxTokens: 1000 };
    await cached.readWindow("t", s.id, q);
    await cached.append("t", s.id, [msg("two")]);
    const w = await cached.readWindow("t", s.id, q);
    assert.deepEqual(seqs(w.items), [1, 2]);
    assert.equal(cached.stats.hits, 1);
    assert.equal(counting.gets, 0);
    assert.equal(counting.heads, 2, "one to seed, one to validate the hit");
  });
});

/** Counts `get`s and `head`s reaching the store under the cache. */
class CountingGets extends DelegatingStore {
  gets = 0;
  heads = 0;

  override get(tenant: string, id: string): Promise<Session> {
    this.gets += 1;
    return this.inner.get(tenant, id);
  }

  override head(tenant: string, id: string): Promise<SessionHeadInfo> {
    this.heads += 1;
    return super.head(tenant, id);
  }
}
