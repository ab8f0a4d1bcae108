/**
 * The keyless side of encryption at rest (`refuseEncryptedSessions`, `refuseKeylessWrites`): a
 * store that holds encrypted sessions gets no plaintext session from a caller without the keys.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createStore } from "../store/create-store.ts";
import { estimateTokens } from "../store/tokens.ts";
import {
  encryptAtRest,
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

describe("keyless writes into a store that encrypts at rest", () => {
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
});
