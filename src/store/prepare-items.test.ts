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

test("each refusal names the item and field it is about (the names are built only on refusal)", async () => {
  const store = createSessionStore(createMemoryDriver(), { maxItemBytes: 1024 });
  const session = await store.create("t");
  const refused = async (bad: unknown, param: string, message: RegExp): Promise<void> => {
    await assert.rejects(store.append("t", session.id, [item, bad] as never), (error: Error) => {
      assert.equal((error as { param?: string }).param, param, `${param}: ${error.message}`);
      assert.match(error.message, message);
      return true;
    });
  };
  const content = (extra: Record<string, unknown>) => ({ content: { ...item.content, ...extra } });
  await refused("x", "items[1]", /^items\[1\] must be an object\.$/);
  await refused({ content: [] }, "items[1].content", /^items\[1\]\.content must be a JSON object\.$/);
  await refused(
    { content: { role: "user" } },
    "items[1].content.type",
    /^items\[1\]\.content\.type must be a non-empty/,
  );
  await refused(
    content({ type: "a\u0000b" }),
    "items[1].content.type",
    /^items\[1\]\.content\.type must not contain NUL/,
  );
  await refused({ ...item, id: "no spaces" }, "items[1].id", /^Item ids are/);
  await refused({ ...item, id: 7 }, "items[1].id", /^Item ids are/);
  await refused(content({ id: "no spaces" }), "items[1].id", /^Item ids are/);
  await assert.rejects(
    store.append("t", session.id, [
      { ...item, id: "same" },
      { ...item, id: "same" },
    ]),
    { param: "items[1].id", message: "Item id 'same' appears twice." },
  );
  await refused(
    content({ text: "x".repeat(2000) }),
    "items[1]",
    /^items\[1\] is \d+ bytes; the limit is 1024 bytes\.$/,
  );
  await refused({ ...item, tokens: 1.5 }, "items[1]", /^items\[1\]\.tokens must be an integer/);
  await refused({ ...item, turnId: 5 }, "items[1]", /^items\[1\]\.turnId must be a string/);
  await refused(
    { ...item, turnId: "a\u0000" },
    "items[1].turnId",
    /^items\[1\]\.turnId must not contain NUL/,
  );
  await refused(content({ role: "\ud800" }), "items[1].content.role", /^items\[1\]\.content\.role must not/);
  await refused(
    content({ status: "\u0000" }),
    "items[1].content.status",
    /^items\[1\]\.content\.status must not/,
  );
  await refused(
    content({ call_id: "\udc00x" }),
    "items[1].content.call_id",
    /^items\[1\]\.content\.call_id must not/,
  );
  assert.equal((await store.readItems("t", session.id)).length, 0);
  const counting = createSessionStore(createMemoryDriver(), { countTokens: () => Number.NaN });
  await assert.rejects(counting.create("t", { items: [{ ...item, tokens: 1 }, item] }), {
    code: "internal",
    message: /answered NaN for items\[1\];/,
  });
});
