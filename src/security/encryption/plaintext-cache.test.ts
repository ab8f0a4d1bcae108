import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PlaintextCache } from "./plaintext-cache.ts";

describe("plaintext cache", () => {
  it("hits only for the same session, item id and exact blob", () => {
    const cache = new PlaintextCache();
    cache.set("t", "conv_a", "msg_1", "1.blob-a", '{"x":1}');
    assert.equal(cache.get("t", "conv_a", "msg_1", "1.blob-a"), '{"x":1}');
    assert.equal(cache.get("t", "conv_a", "msg_1", "1.blob-b"), undefined);
    assert.equal(cache.get("t", "conv_b", "msg_1", "1.blob-a"), undefined);
    assert.equal(cache.get("u", "conv_a", "msg_1", "1.blob-a"), undefined);
    assert.equal(cache.get("t", "conv_a", "msg_2", "1.blob-a"), undefined);
    cache.drop("t", "conv_a");
    assert.equal(cache.get("t", "conv_a", "msg_1", "1.blob-a"), undefined);
  });

  it("evicts least recently used sessions past its byte budget, and can be disabled", () => {
    const cache = new PlaintextCache({ maxBytes: 2000 });
    const text = "x".repeat(400);
    cache.set("t", "s1", "i", "b", text);
    cache.set("t", "s2", "i", "b", text);
    assert.equal(cache.get("t", "s1", "i", "b"), text); // s1 is now the most recent
    cache.set("t", "s3", "i", "b", text);
    assert.equal(cache.get("t", "s2", "i", "b"), undefined);
    assert.equal(cache.get("t", "s1", "i", "b"), text);
    assert.equal(cache.get("t", "s3", "i", "b"), text);
    const off = new PlaintextCache({ maxBytes: 0 });
    off.set("t", "s", "i", "b", text);
    assert.equal(off.get("t", "s", "i", "b"), undefined);
  });
});
