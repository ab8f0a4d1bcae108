import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Item } from "../../store/types.ts";
import { DecryptionError } from "../errors.ts";
import { decryptState, encryptContent, itemSealer, openItemText, sealedSeqOf } from "./content-crypto.ts";

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
// Format 2 (the seq bound too), sealed for seq 3 with an operation id: pinned like format 1.
const STORED_V2_AT_3 = {
  type: "message",
  role: "user",
  hf_enc:
    "2.conv_fixture00000000.3.qw_fF-4VX4Y0iKqmqywZHm_btCuM1T0pdln4Gcb5OZLzSjLwx8tg0MjwxczT2JuP3926yfAynI44Qsq2YYxDI9o9sr54P4Y99UW3gmAhXHWrDU_7LH2ll88aGxa3uC4rR5Ydb60LASB745j-vsp_-L3Lt1JdhcGSnLU",
};
const STORED_STATE = {
  hf_enc: "1.conv_fixture00000000.y7qA2GHsF_pLZlXJpJzawBCbykZ90ScYAOH7DiibXrDWjoP-FhM3ErG88Q",
};

const lookup = async (origin: string) => KEYS.get(origin);
const item = (id: string, seq = 1) => ({ id, seq }) as Item;

describe("sealed item and state format (version 1)", () => {
  it("opens blobs written by earlier releases", async () => {
    for (const blob of [STORED_DETERMINISTIC.hf_enc, STORED_RANDOM_IV]) {
      assert.deepEqual(JSON.parse(await openItemText(item("msg_fixture"), blob, lookup, "acme")), BODY);
    }
    assert.deepEqual(await decryptState(STORED_STATE, lookup, "acme", SESSION), { note: "kept" });
  });

  it("still binds a blob to its item, session and tenant", async () => {
    const blob = STORED_DETERMINISTIC.hf_enc;
    await assert.rejects(openItemText(item("msg_other"), blob, lookup, "acme"), DecryptionError);
    await assert.rejects(openItemText(item("msg_fixture"), blob, lookup, "other"), DecryptionError);
    const moved = blob.replace(SESSION, "conv_fixture00000001");
    const both = async (origin: string) => KEYS.get(origin) ?? KEY;
    await assert.rejects(openItemText(item("msg_fixture"), moved, both, "acme"), DecryptionError);
    assert.equal(sealedSeqOf(blob), null, "format 1 carries no seq");
  });
});

describe("sealed item format 2 (seq bound)", () => {
  it("seals byte for byte as pinned (a retried append still hashes the same)", () => {
    const sealer = itemSealer(KEYS, "acme", SESSION);
    const sealed = encryptContent(BODY, sealer, "msg_fixture", 3, true);
    assert.deepEqual(sealed.stored, STORED_V2_AT_3);
    assert.equal(sealed.plaintext, JSON.stringify(BODY));
    // Token estimates use the UTF-8 size read off the ciphertext: multi-byte text counts in bytes.
    assert.equal(sealed.plaintextBytes, Buffer.byteLength(sealed.plaintext));
    assert.ok(sealed.plaintextBytes > sealed.plaintext.length);
    const random = encryptContent(BODY, sealer, "msg_fixture", 3, false).stored.hf_enc;
    assert.notEqual(random, STORED_V2_AT_3.hf_enc, "without an operation id the IV is random");
    assert.notEqual(
      encryptContent(BODY, sealer, "msg_fixture", 4, true).stored.hf_enc,
      STORED_V2_AT_3.hf_enc,
    );
    assert.equal(sealedSeqOf(STORED_V2_AT_3.hf_enc), 3);
  });

  it("opens for its item, and fails when its sealed seq, item, session or tenant is changed", async () => {
    const blob = STORED_V2_AT_3.hf_enc;
    assert.deepEqual(JSON.parse(await openItemText(item("msg_fixture", 3), blob, lookup, "acme")), BODY);
    // Where the item sits is checked by the read path (checkSealedOrder), not here.
    assert.deepEqual(JSON.parse(await openItemText(item("msg_fixture", 9), blob, lookup, "acme")), BODY);
    const relabelled = blob.replace(`${SESSION}.3.`, `${SESSION}.4.`);
    await assert.rejects(
      openItemText(item("msg_fixture", 4), relabelled, lookup, "acme"),
      /altered or moved/,
    );
    await assert.rejects(openItemText(item("msg_other", 3), blob, lookup, "acme"), DecryptionError);
    await assert.rejects(openItemText(item("msg_fixture", 3), blob, lookup, "other"), DecryptionError);
    const both = async (origin: string) => KEYS.get(origin) ?? KEY;
    const moved = blob.replace(SESSION, "conv_fixture00000001");
    await assert.rejects(openItemText(item("msg_fixture", 3), moved, both, "acme"), DecryptionError);
    for (const bad of [
      "2.conv_fixture00000000.0.AAAA",
      "2.conv_fixture00000000.AAAA",
      "2.conv_fixture00000000.x.AAAA",
    ]) {
      await assert.rejects(openItemText(item("msg_fixture"), bad, lookup, "acme"), /malformed/);
    }
  });
});
