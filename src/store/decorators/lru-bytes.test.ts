import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteLru } from "./lru-bytes.ts";

/** Keys from least to most recently used, read without touching recency (evict one by one). */
function order(lru: ByteLru<string>, keys: readonly string[]): string[] {
  return keys.filter((k) => lru.get(k) !== undefined);
}

describe("ByteLru", () => {
  it("evicts the least recently used first; a get marks an entry used", () => {
    const lru = new ByteLru<string>(30);
    lru.set("a", "A", 10);
    lru.set("b", "B", 10);
    lru.set("c", "C", 10);
    assert.equal(lru.get("a"), "A");
    lru.set("d", "D", 10);
    assert.equal(lru.get("b"), undefined, "b was the least recently used");
    assert.deepEqual(order(lru, ["a", "c", "d"]), ["a", "c", "d"]);
    assert.equal(lru.size, 3);
    assert.equal(lru.bytes, 30);
  });

  it("updates an existing key in place: new value and size, most recently used, no second entry", () => {
    const lru = new ByteLru<{ n: number }>(100);
    const first = { n: 1 };
    lru.set("a", first, 10);
    lru.set("b", { n: 2 }, 10);
    lru.set("a", first, 50);
    assert.equal(lru.size, 2);
    assert.equal(lru.bytes, 60);
    assert.equal(lru.get("a"), first);
    lru.set("a", { n: 3 }, 20);
    assert.equal(lru.get("a")?.n, 3);
    assert.equal(lru.bytes, 30);
    // "a" was written last, so a newcomer that does not fit evicts "b" first.
    lru.set("c", { n: 4 }, 75);
    assert.equal(lru.get("b"), undefined);
    assert.equal(lru.get("a")?.n, 3);
    assert.equal(lru.bytes, 95);
  });

  it("a growing update evicts others, never the entry itself", () => {
    const lru = new ByteLru<string>(100);
    lru.set("a", "A", 40);
    lru.set("b", "B", 40);
    lru.set("a", "A2", 90);
    assert.equal(lru.get("b"), undefined);
    assert.equal(lru.get("a"), "A2");
    assert.equal(lru.bytes, 90);
  });

  it("does not keep an entry over the whole budget and drops the key it would replace", () => {
    const lru = new ByteLru<string>(100);
    lru.set("a", "A", 10);
    lru.set("huge", "x", 1000);
    assert.equal(lru.get("huge"), undefined);
    lru.set("a", "A2", 101);
    assert.equal(lru.get("a"), undefined);
    assert.equal(lru.size, 0);
    assert.equal(lru.bytes, 0);
  });

  it("deletes one key or every key with a prefix, keeping the byte count", () => {
    const lru = new ByteLru<string>(1000);
    for (const k of ["t1\u0000a", "t1\u0000b", "t2\u0000a", "t2\u0000b"]) lru.set(k, k, 10);
    lru.delete("t2\u0000a");
    lru.delete("missing");
    lru.deletePrefix("t1\u0000");
    assert.equal(lru.size, 1);
    assert.equal(lru.bytes, 10);
    assert.equal(lru.get("t2\u0000b"), "t2\u0000b");
    // The list stays consistent after removals: eviction still goes oldest first.
    const small = new ByteLru<string>(20);
    small.set("x", "X", 10);
    small.set("y", "Y", 10);
    small.delete("x");
    small.set("z", "Z", 10);
    small.set("w", "W", 10);
    assert.deepEqual(order(small, ["x", "y", "z", "w"]), ["z", "w"]);
  });

  it("validates its budget", () => {
    assert.throws(() => new ByteLru(-1), /maxBytes must be a non-negative integer/);
    assert.throws(() => new ByteLru(1.5), /maxBytes/);
  });
});
