import assert from "node:assert/strict";
import { test } from "node:test";
import { createSessionStore } from "./core.ts";
import { createMemoryDriver } from "./drivers/memory.ts";
import type { TokenCounter } from "./tokens.ts";

const item = { content: { type: "message", role: "user", content: "hi" } };

test("a configured token counter's fraction is rounded up; a count that is not one writes nothing", async () => {
  const open = (countTokens: TokenCounter) => createSessionStore(createMemoryDriver(), { countTokens });
  const rounded = open(() => 1.5);
  const s = await rounded.create("t", { items: [item] });
  assert.equal(s.tokenCount, 2);
  assert.equal((await rounded.readItems("t", s.id))[0]?.tokens, 2);
  for (const bad of [Number.NaN, -3, Number.POSITIVE_INFINITY, 2 ** 31, "7" as unknown as number]) {
    const store = open(() => bad);
    await assert.rejects(store.create("t", { items: [item] }), { code: "internal" });
    assert.deepEqual((await store.list("t")).data, []);
    // A caller's own count needs no counter.
    assert.equal((await store.create("t", { items: [{ ...item, tokens: 3 }] })).tokenCount, 3);
  }
});
