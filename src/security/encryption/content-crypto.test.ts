import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Item } from "../../store/types.ts";
import { DecryptionError } from "../errors.ts";
import { decryptState, encryptContent, itemSealer, openItemText } from "./content-crypto.ts";

// Written by the release before the sealing path was reworked for speed (fixed key, tenant,
// session and item): stored data must stay readable, and the format must not drift.
const KEY = Buffer.alloc(32, 7);
const SESSION = "conv_fixture00000000";
const KEYS = new Map([[SESSION, KEY]]);
const BODY = {
  type: "message",
  role: "user",
  content: [{ type: "input_text", text: "héllo — fixture" }],
};
const STORED_DETERMINISTIC = {
  type: "message",
  role: "user",
  hf_enc:
    "1.conv_fixture00000000.FLt8Omm-tqPUl8p6lMlTyPBVsGs-gin7oTIXe7y25qyyZv5kw3wmQTgl9EatQmNvY165rKrV-k-vBOjaKwdq2AgkTytsuJRkjNHY7N24MILcWUcQshAnTVXgjwsV03ORUVRsVQWI7VXrPGT5xICmMh8w8PhwNINSWFk",
};
const STORED_RANDOM_IV =
  "1.conv_fixture00000000.fH4l2C0zIFbRRBd7Uf1M56KK2wbz3Hr_rtNphPmgi6HRDT0y0PDlHccBcGX846GcTlovDc9HVHA7m_4un3z99ZWk971OOKOlnMrJOmnpJVIVrgr5TM2yA9pNM86SCb1S4ScWVCV_OsxXKpxtOTrPF04-lCQQ_aRMP_o";
const STORED_STATE = {
  hf_enc: "1.conv_fixture00000000.y7qA2GHsF_pLZlXJpJzawBCbykZ90ScYAOH7DiibXrDWjoP-FhM3ErG88Q",
};

const lookup = async (origin: string) => KEYS.get(origin);
const item = (id: string) => ({ id, seq: 1 }) as Item;

describe("sealed item and state format (version 1)", () => {
  it("opens blobs written by earlier releases", async () => {
    for (const blob of [STORED_DETERMINISTIC.hf_enc, STORED_RANDOM_IV]) {
      assert.deepEqual(JSON.parse(await openItemText(item("msg_fixture"), blob, lookup, "acme")), BODY);
    }
    assert.deepEqual(await decryptState(STORED_STATE, lookup, "acme", SESSION), { note: "kept" });
  });

  it("seals byte for byte as earlier releases did (a retried append still hashes the same)", () => {
    const sealer = itemSealer(KEYS, "acme", SESSION);
    const sealed = encryptContent(BODY, sealer, "msg_fixture", true);
    assert.deepEqual(sealed.stored, STORED_DETERMINISTIC);
    assert.equal(sealed.plaintext, JSON.stringify(BODY));
    // Token estimates use the UTF-8 size read off the ciphertext: multi-byte text counts in bytes.
    assert.equal(sealed.plaintextBytes, Buffer.byteLength(sealed.plaintext));
    assert.ok(sealed.plaintextBytes > sealed.plaintext.length);
    const random = encryptContent(BODY, sealer, "msg_fixture", false).stored.hf_enc;
    assert.notEqual(random, STORED_DETERMINISTIC.hf_enc, "without an operation id the IV is random");
  });

  it("still binds a blob to its item, session and tenant", async () => {
    const blob = STORED_DETERMINISTIC.hf_enc;
    await assert.rejects(openItemText(item("msg_other"), blob, lookup, "acme"), DecryptionError);
    await assert.rejects(openItemText(item("msg_fixture"), blob, lookup, "other"), DecryptionError);
    const moved = blob.replace(SESSION, "conv_fixture00000001");
    const both = async (origin: string) => KEYS.get(origin) ?? KEY;
    await assert.rejects(openItemText(item("msg_fixture"), moved, both, "acme"), DecryptionError);
  });
});
