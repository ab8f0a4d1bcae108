/**
 * With encryption at rest on, `holdfast serve` counts a stored item's tokens with the same model
 * counter as without it. The decorator counts the plaintext before sealing; given no counter it
 * fell back to bytes / 4, so an encrypted deployment fitted windows by a different (and for
 * images or reasoning blobs, far larger) count than a plain one.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createHoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";
import { createStore } from "./store/index.ts";

/** Text whose o200k count (~2 tokens per 12 characters) is far from its bytes / 4. */
const TEXT = "hello world ".repeat(400);

/** Stores one message through an app on `db` and answers the token count the store holds. */
async function storedTokens(db: string, env: Record<string, string>): Promise<number> {
  const holdfast = await createHoldfastApp({ config: testServerConfig({ store: `sqlite:${db}` }), env });
  try {
    const created = await holdfast.app.inject({
      method: "POST",
      url: "/v1/conversations",
      payload: { items: [{ type: "message", role: "user", content: TEXT }] },
    });
    assert.equal(created.statusCode, 200, created.body);
    const id = (created.json() as { id: string }).id;
    await holdfast.close();
    // The plain store reads the clear columns (tokens) of both files alike.
    const plain = await createStore(`sqlite:${db}`);
    try {
      const items = await plain.readItems("default", id);
      assert.equal(items.length, 1);
      return items[0]?.tokens ?? Number.NaN;
    } finally {
      await plain.close();
    }
  } catch (error) {
    await holdfast.close().catch(() => {});
    throw error;
  }
}

describe("token counts with encryption at rest", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-app-enc-tokens-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("an encrypted store counts an item as the plain store does", async () => {
    const plain = await storedTokens(path.join(dir, "plain.db"), {});
    const encrypted = await storedTokens(path.join(dir, "encrypted.db"), {
      HOLDFAST_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    });
    assert.ok(plain < Math.ceil(TEXT.length / 4) * 0.8, `the model counter was used: ${plain}`);
    assert.equal(encrypted, plain);
  });
});
