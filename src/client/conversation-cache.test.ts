/** The cache's byte budget counts bytes (UTF-8 of the JSON), not characters. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConversationCache } from "./conversation-cache.ts";
import { createMemoryStorage } from "./storage/memory-storage.ts";
import type { Conversation } from "./types.ts";

function record(id: string, text: string) {
  const conversation = { id, object: "conversation", version: 1 } as unknown as Conversation;
  return { conversation, items: [{ role: "user", content: text }], version: 1 };
}

test("non-ASCII text is counted in bytes: two conversations over the budget do not both stay", async () => {
  const cache = new ConversationCache({ storage: createMemoryStorage(), budgetBytes: 2500 });
  // 600 CJK characters: about 600 code units, but 1800 bytes of UTF-8 each.
  await cache.put(record("a", "会".repeat(600)));
  await cache.put(record("b", "話".repeat(600)));
  assert.deepEqual(await cache.ids(), ["b"], "the least recently used one was evicted");
  const used = await cache.usedBytes();
  assert.equal(used, new TextEncoder().encode(JSON.stringify(record("b", "話".repeat(600)))).byteLength);
  assert.ok(used <= 2500);
});
