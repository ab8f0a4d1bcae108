/**
 * `holdfast serve` counts stored tokens with the gateway's model counter, whether or not contents
 * are encrypted: the encryption decorator counts the plaintext itself (the inner store only sees
 * ciphertext), so it must be handed the same counter as the store.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { createHoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";
import { createTokenCounter } from "./engine/context/token-counter.ts";
import type { JsonObject } from "./store/types.ts";

/** Text whose o200k count is far from its bytes / 4 (one token per repeated word). */
const TEXT = "hello ".repeat(400);
const message: JsonObject = { type: "message", role: "user", content: [{ type: "input_text", text: TEXT }] };

async function storedTokens(env: Record<string, string>): Promise<number> {
  const holdfast = await createHoldfastApp({ config: testServerConfig({ store: "memory:" }), env });
  try {
    const session = await holdfast.store.create("acme", { items: [{ content: message }] });
    const [item] = await holdfast.store.readItems("acme", session.id);
    assert.ok(item);
    return item.tokens;
  } finally {
    await holdfast.close();
  }
}

describe("serve's token counting", () => {
  test("an encrypted store counts items with the same model counter as a plain one", async () => {
    const expected = createTokenCounter("gpt-4o")(message);
    assert.notEqual(expected, Math.ceil(Buffer.byteLength(JSON.stringify(message)) / 4));
    assert.equal(await storedTokens({}), expected);
    const keys = `k1:${randomBytes(32).toString("base64")}`;
    assert.equal(await storedTokens({ HOLDFAST_KEYS: keys }), expected);
  });
});
