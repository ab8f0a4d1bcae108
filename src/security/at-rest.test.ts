/**
 * The keyless side of encryption at rest (`refuseEncryptedSessions`, `refuseKeylessWrites`,
 * `encryptedSessionCheck`): a store that holds encrypted sessions gets no plaintext session from a
 * caller without the keys, and a keyless export refuses before it writes anything.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { exportSessions } from "../interop/portable/index.ts";
import { createStore } from "../store/create-store.ts";
import { estimateTokens } from "../store/tokens.ts";
import {
  encryptAtRest,
  encryptedSessionCheck,
  holdsEncryptedSessions,
  refuseEncryptedSessions,
  refuseKeylessWrites,
} from "./at-rest.ts";
import { createKeyring } from "./encryption/keyring.ts";

const keyring = createKeyring([{ kid: "k1", key: randomBytes(32) }]);
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});
const refused = { code: "invalid_argument", param: "HOLDFAST_KEYS", message: /holds encrypted sessions/ };

describe("keyless access to a store that encrypts at rest", () => {
  it("create is refused once the store holds a data key; before that it passes", async () => {
    const base = await createStore("memory:");
    const keyless = refuseEncryptedSessions(base);
    assert.equal(await holdsEncryptedSessions(base), false);
    await keyless.create("t", { items: [msg("before any encryption")] });
    await refuseKeylessWrites(keyless);

    const sealed = encryptAtRest(base, { keyring, countTokens: estimateTokens });
    assert.ok(sealed);
    // Another tenant's encrypted session: the store encrypts, whichever tenant is written.
    await sealed.create("other", { items: [msg("sealed")] });
    assert.equal(await holdsEncryptedSessions(base), true);

    await assert.rejects(keyless.create("t", { items: [msg("would be plaintext")] }), refused);
    await assert.rejects(refuseKeylessWrites(keyless), refused);
    assert.equal((await base.list("t")).data.length, 1);
    // With the keys, or on the plain store itself (a raw copy), nothing is refused.
    await refuseKeylessWrites(sealed);
    await refuseKeylessWrites(base);
    await sealed.create("t", { items: [msg("sealed too")] });
    await base.close();
  });

  it("a keyless export meets the encrypted session in its check, before writing a byte", async () => {
    const base = await createStore("memory:");
    const keyless = refuseEncryptedSessions(base);
    // Nothing encrypted yet: no check to run.
    assert.equal(await encryptedSessionCheck(keyless), undefined);
    // A plaintext session large enough to be written out before the export reaches the next one.
    await base.create("t", { items: Array.from({ length: 40 }, (_, i) => msg(`${i} ${"x".repeat(4000)}`)) });
    await setTimeout(2);
    const sealed = encryptAtRest(base, { keyring, countTokens: estimateTokens });
    assert.ok(sealed);
    const encrypted = await sealed.create("t", { items: [msg("sealed")] });
    assert.equal(await encryptedSessionCheck(sealed), undefined);

    for (const preflight of [undefined, await encryptedSessionCheck(keyless)]) {
      const out = new PassThrough();
      let written = 0;
      out.on("data", (chunk: Buffer) => {
        written += chunk.length;
      });
      await assert.rejects(exportSessions(keyless, "t", {}, out, { preflight }), {
        code: "invalid_argument",
        message: new RegExp(`Session '${encrypted.id}' is encrypted`),
      });
      // Without the check, the plaintext session went out first: what the check prevents.
      assert.equal(written > 0, preflight === undefined);
    }
    await base.close();
  });
});
