import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createSessionStore } from "../../store/core.ts";
import { createMemoryDriver } from "../../store/drivers/memory.ts";
import type { JsonObject } from "../../store/types.ts";
import { encryptContent, encryptState, itemSealer } from "./content-crypto.ts";
import { createKeyring } from "./keyring.ts";
import { sealedItemBytes, sealedStateBytes, sealedStoreLimits } from "./sealed-limits.ts";
import { withEncryption } from "./with-encryption.ts";

/** The longest session id and the largest seq a blob can name: the worst case of the bound. */
const SESSION = `conv_${"s".repeat(96)}`;
const SEQ = Number.MAX_SAFE_INTEGER;
const KEYS = new Map([[SESSION, randomBytes(32)]]);
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** `fields` with `key` filled to `size` bytes of JSON by `unit` (escaped or multi-byte characters). */
function body(size: number, fields: JsonObject, key: string, unit: string): JsonObject {
  const room = size - bytes({ ...fields, [key]: "" });
  const per = bytes(unit) - 2;
  const filled = { ...fields, [key]: unit.repeat(Math.floor(room / per)) + "x".repeat(room % per) };
  assert.equal(bytes(filled), size);
  return filled;
}

function storedItemBytes(content: JsonObject): number {
  return bytes(encryptContent(content, itemSealer(KEYS, "acme", SESSION), "item_1", SEQ, false).stored);
}

describe("sealed size bounds", () => {
  it("no sealed item is larger than sealedItemBytes of its plaintext, and the worst case reaches it", () => {
    for (const size of [200, 1000, 1001, 1002, 1 << 20]) {
      for (const unit of ["a", "é", "\n", "😀", "\u0001"]) {
        const clear = body(
          size,
          { type: "function_call_output", status: "completed", role: "tool" },
          "call_id",
          unit,
        );
        const hidden = body(size, { type: "message", role: "user" }, "text", unit);
        for (const content of [clear, hidden]) {
          assert.ok(
            storedItemBytes(content) <= sealedItemBytes(size),
            `${size} bytes of ${JSON.stringify(unit)}`,
          );
        }
      }
      // Nothing but clear fields, at a size whose base64 has no partial group: the bound exactly.
      const worst = body(size - ((size + 28) % 3), { type: "t" }, "call_id", "a");
      assert.equal(storedItemBytes(worst), sealedItemBytes(bytes(worst)));
    }
  });

  it("no sealed state is larger than sealedStateBytes of its plaintext, and each reaches it", () => {
    for (const size of [20, 1000, 1001, 1002, 1 << 20]) {
      const state = body(size, {}, "note", "é");
      const stored = bytes(encryptState(state, KEYS, "acme", SESSION));
      assert.ok(stored <= sealedStateBytes(size));
      if ((size + 28) % 3 === 0) assert.equal(stored, sealedStateBytes(size));
    }
  });
});

describe("withEncryption over a store opened without sealedStoreLimits()", () => {
  it("says what to fix when the store refuses the sealed form of an item within the limit", async () => {
    const store = withEncryption(createSessionStore(createMemoryDriver()), {
      keyring: createKeyring([{ kid: "k1", key: randomBytes(32) }]),
    });
    const s = await store.create("acme");
    const content = body(900_000, { type: "message" }, "text", "a");
    await assert.rejects(store.append("acme", s.id, [{ content }]), (error: Error & { code?: string }) => {
      assert.equal(error.code, "payload_too_large");
      assert.match(
        error.message,
        /^items\[0\] is \d+ bytes; the limit is 1048576 bytes\. That is the size of its encrypted form/,
      );
      assert.match(error.message, /sealedStoreLimits\(\)/);
      return true;
    });
    await assert.rejects(
      store.patchState("acme", s.id, { content }),
      /state is \d+ bytes.*sealedStoreLimits\(\)/,
    );
    await assert.rejects(store.fork("acme", s.id, { state: { content } }), /sealedStoreLimits\(\)/);
    assert.equal((await store.list("acme")).data.length, 1, "the refused fork left no child");
    assert.deepEqual(sealedStoreLimits(), {
      maxItemBytes: sealedItemBytes(1 << 20),
      maxStateBytes: sealedStateBytes(1 << 20),
    });
  });
});
