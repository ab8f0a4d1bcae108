/**
 * `importSessions` and content sealed by encryption at rest (`hf_enc`), as an export an older
 * Holdfast made without the keys holds: `sealed: "refuse"` writes none of it, naming the line.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { createKeyring } from "../../security/encryption/keyring.ts";
import { withEncryption } from "../../security/encryption/with-encryption.ts";
import { createStore } from "../../store/create-store.ts";
import type { SessionStore } from "../../store/types.ts";
import { exportSessions, importSessions } from "./index.ts";

const T = "acme";
const keyring = createKeyring([{ kid: "k1", key: randomBytes(32) }]);
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

/** The export of `store` as stored (for a sealed session: its ciphertext, as a keyless export held it). */
async function rawExport(store: SessionStore): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  await exportSessions(store, T, {}, out);
  out.end();
  return Buffer.concat(chunks).toString("utf8");
}

/** A plaintext session, then a sealed one with two items and a state. */
async function mixedExport(): Promise<{ text: string; plain: string; sealed: string }> {
  const base = await createStore("memory:");
  const encrypted = withEncryption(base, { keyring });
  const plain = (await base.create(T, { items: [msg("clear")] })).id;
  await setTimeout(2);
  const sealed = (await encrypted.create(T, { state: { note: "secret" }, items: [msg("one"), msg("two")] }))
    .id;
  const text = await rawExport(base);
  await base.close();
  return { text, plain, sealed };
}

describe("importSessions and sealed content", () => {
  it("refuses a sealed item naming its line, and with reopen writes nothing at all", async () => {
    const { text, plain, sealed } = await mixedExport();
    // manifest (1), plain session (2), its item (3), session_end (4), sealed session (5), its first item (6)
    const items = text.split("\n").filter((l) => l.startsWith('{"kind":"item"'));
    assert.match(items[1] ?? "", /hf_enc/);
    const itemId = JSON.parse(items[1] ?? "").item.id;
    const dst = await createStore("memory:");
    const reopen = () => Readable.from([text]);
    for (const onConflict of ["fail", "skip"] as const) {
      await assert.rejects(importSessions(dst, T, reopen(), { reopen, onConflict, sealed: "refuse" }), {
        code: "invalid_argument",
        param: "file",
        message:
          `Portable file, line 6: item '${itemId}' of session '${sealed}' holds content sealed by encryption at rest ('hf_enc'), ` +
          "as an export made without the keys by an older Holdfast does: imported, its ciphertext would be stored as its content. " +
          "Export the sessions again with HOLDFAST_KEYS or HOLDFAST_KEY_FILE set (the keys `holdfast serve` uses; the export then holds their plaintext), " +
          "or copy the store with `holdfast migrate` (with --tenant _hf_data_key) instead. Nothing was imported.",
      });
      assert.equal((await dst.list(T)).data.length, 0, onConflict);
    }
    // A stream is read once: the sessions before it stay, and the message says so.
    await assert.rejects(importSessions(dst, T, Readable.from([text]), { sealed: "refuse" }), {
      message: /line 6: .* The 1 session\(s\) before it in the file were imported and stay\.$/,
    });
    assert.deepEqual(
      (await dst.list(T)).data.map((s) => s.id),
      [plain],
    );
    await dst.close();
  });

  it("refuses a sealed state on its session's line; without sealed: refuse it copies as stored", async () => {
    const base = await createStore("memory:");
    const { id } = await withEncryption(base, { keyring }).create(T, { state: { note: "secret" } });
    const text = await rawExport(base);
    await base.close();
    assert.match(text, /"state":\{"hf_enc":"1\.conv_/);
    const dst = await createStore("memory:");
    await assert.rejects(importSessions(dst, T, Readable.from([text]), { sealed: "refuse" }), {
      message: new RegExp(
        `^Portable file, line 2: the state of session '${id}' holds content sealed by encryption at rest`,
      ),
    });
    assert.equal((await dst.list(T)).data.length, 0);
    // The library's default: a raw copy, as migrate makes, for a store that gets the data keys too.
    assert.equal((await importSessions(dst, T, Readable.from([text]))).imported, 1);
    assert.match(JSON.stringify((await dst.get(T, id)).state), /hf_enc/);
    await dst.close();
  });
});
