import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { parseLifecyclePolicy } from "../lifecycle/policy.ts";
import { createSweeper } from "../lifecycle/sweeper.ts";
import { createSessionStore } from "../store/core.ts";
import { createStore } from "../store/create-store.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { estimateTokens } from "../store/tokens.ts";
import type { Item, SessionStore } from "../store/types.ts";
import { createKeyring, keyringFromEnv, parseKeyring } from "./encryption/keyring.ts";
import { withEncryption } from "./encryption/with-encryption.ts";
import { DecryptionError } from "./errors.ts";

const SECRET_TEXT = "my bank PIN is 4921 and my secret is plover-zebra-7731";
const k1 = { kid: "k1", key: randomBytes(32) };
const k2 = { kid: "k2", key: randomBytes(32) };
const dir = mkdtempSync(join(tmpdir(), "holdfast-enc-rest-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("encryption at rest", () => {
  it("leaves no plaintext in the raw SQLite files (items, state, WAL)", async () => {
    const path = join(dir, "grep.db");
    const store = withEncryption(await createStore(`sqlite:${path}`), { keyring: createKeyring([k1]) });
    const s = await store.create("acme", { state: { note: SECRET_TEXT }, items: [msg(SECRET_TEXT)] });
    await store.append("acme", s.id, [msg(`again: ${SECRET_TEXT}`)]);
    await store.patchState("acme", s.id, { later: SECRET_TEXT });
    const items = await store.readItems("acme", s.id);
    assert.ok(JSON.stringify(items).includes(SECRET_TEXT), "reads come back decrypted");
    assert.equal((await store.get("acme", s.id)).state.later, SECRET_TEXT);
    const files = () => readdirSync(dir).filter((f) => f.startsWith("grep.db"));
    assert.ok(files().length > 0);
    const grep = () =>
      files().some((f) => {
        const bytes = readFileSync(join(dir, f));
        return bytes.includes(Buffer.from("plover-zebra")) || bytes.includes(Buffer.from("bank PIN"));
      });
    assert.equal(grep(), false, `plaintext found in ${files().join(", ")} while open`);
    await store.close();
    assert.equal(grep(), false, "plaintext found after close");
    // The control: without the decorator the same text does land in the file.
    const plain = await createStore(`sqlite:${join(dir, "control.db")}`);
    await plain.create("acme", { items: [msg(SECRET_TEXT)] });
    await plain.close();
    const control = readdirSync(dir)
      .filter((f) => f.startsWith("control.db"))
      .some((f) => readFileSync(join(dir, f)).includes(Buffer.from("plover-zebra")));
    assert.equal(control, true);
  });

  it("keeps only type/role/call_id/status clear and counts tokens on the plaintext", async () => {
    const inner = await createStore("memory:");
    const counted: string[] = [];
    const store = withEncryption(inner, {
      keyring: createKeyring([k1]),
      countTokens: (c) => {
        counted.push(JSON.stringify(c));
        return 7;
      },
    });
    const s = await store.create("acme");
    const call = { type: "function_call", call_id: "c1", name: "f", arguments: "{}", status: "completed" };
    await store.append("acme", s.id, [msg("hello"), { content: call }, { ...msg("given"), tokens: 99 }]);
    const raw = await inner.readItems("acme", s.id);
    assert.deepEqual(Object.keys(raw[0]?.content ?? {}).sort(), ["hf_enc", "role", "type"]);
    assert.deepEqual(Object.keys(raw[1]?.content ?? {}).sort(), ["call_id", "hf_enc", "status", "type"]);
    assert.deepEqual(
      raw.map((i) => i.tokens),
      [7, 7, 99],
    );
    assert.ok(counted[0]?.includes("hello"), "the counter saw the plaintext");
    const plainDefault = withEncryption(inner, { keyring: createKeyring([k1]) });
    const d = await plainDefault.create("acme", { items: [msg("count me")] });
    const [item] = await inner.readItems("acme", d.id);
    assert.equal(item?.tokens, estimateTokens(msg("count me").content));
    const window = await store.readWindow("acme", s.id, { maxTokens: 1000 });
    assert.deepEqual(window.items[1]?.content, call);
  });

  it("binds ciphertexts to their item and session: swapped blobs fail with a typed error", async () => {
    const path = join(dir, "swap.db");
    const keyring = createKeyring([k1]);
    // Stays open during the tampering: its decrypted-item cache must not mask the swap.
    const store: SessionStore = withEncryption(await createStore(`sqlite:${path}`), { keyring });
    const a = await store.create("acme", { items: [msg("first"), msg("second")] });
    const b = await store.create("acme", { items: [msg("other session")] });
    assert.equal((await store.readItems("acme", a.id)).length, 2);
    const db = new DatabaseSync(path);
    const content = (rid: number) =>
      (db.prepare("SELECT content FROM items WHERE rid = ?").get(rid) as { content: string }).content;
    const rids = db.prepare("SELECT rid FROM items ORDER BY rid").all() as { rid: number }[];
    const [r1, r2, r3] = rids.map((r) => r.rid) as [number, number, number];
    const [c1, c2] = [content(r1), content(r2)];
    db.prepare("UPDATE items SET content = ? WHERE rid = ?").run(c2, r1);
    db.prepare("UPDATE items SET content = ? WHERE rid = ?").run(c1, r2);
    await assert.rejects(store.readItems("acme", a.id), (error: unknown) => {
      assert.ok(error instanceof DecryptionError);
      assert.equal(error.code, "decryption_failed");
      assert.equal(error.fault, "system");
      assert.match(error.message, /altered or moved/);
      return true;
    });
    // Moving a blob to another session fails too, for this instance and a fresh one.
    db.prepare("UPDATE items SET content = ? WHERE rid = ?").run(c1, r3);
    db.close();
    await assert.rejects(store.readItems("acme", b.id), DecryptionError);
    await store.close();
    const fresh = withEncryption(await createStore(`sqlite:${path}`), { keyring });
    await assert.rejects(fresh.readItems("acme", a.id), DecryptionError);
    await assert.rejects(fresh.readWindow("acme", b.id, { maxTokens: 1000 }), DecryptionError);
    assert.equal((await fresh.get("acme", b.id)).itemCount, 1);
    await fresh.close();
  });

  it("binds ciphertexts to their seq: rows swapped or moved within the session fail with a typed error", async () => {
    const path = join(dir, "seq-swap.db");
    const keyring = createKeyring([k1]);
    // Stays open during the tampering: its decrypted-item cache must not mask the move.
    const store: SessionStore = withEncryption(await createStore(`sqlite:${path}`), { keyring });
    const s = await store.create("acme", { items: [msg("first"), msg("second")] });
    await store.append("acme", s.id, [msg("third"), msg("fourth")]);
    const before = await store.readItems("acme", s.id);
    assert.deepEqual(
      before.map((i) => i.seq),
      [1, 2, 3, 4],
    );
    const [first, second, third] = before as [Item, Item, Item];
    const db = new DatabaseSync(path);
    const setSeq = db.prepare("UPDATE items SET seq = ? WHERE id = ?");
    // Swap the seqs of the first two rows (through a free seq: (session, seq) is unique).
    setSeq.run(-1, first.id);
    setSeq.run(1, second.id);
    setSeq.run(2, first.id);
    const isMoved = (error: unknown) => {
      assert.ok(error instanceof DecryptionError);
      assert.equal(error.code, "decryption_failed");
      assert.equal(error.fault, "system");
      assert.match(error.message, /moved to other seqs or reordered/);
      return true;
    };
    await assert.rejects(store.readItems("acme", s.id), isMoved);
    await assert.rejects(store.readItems("acme", s.id, { order: "desc" }), isMoved);
    await assert.rejects(store.getItem("acme", s.id, first.id), isMoved);
    // Back in place it reads again; then a row moved up to a free seq fails on its own.
    setSeq.run(-1, first.id);
    setSeq.run(2, second.id);
    setSeq.run(1, first.id);
    assert.deepEqual(
      (await store.readItems("acme", s.id)).map((i) => i.content),
      before.map((i) => i.content),
    );
    setSeq.run(9, third.id);
    db.close();
    await assert.rejects(store.getItem("acme", s.id, third.id), isMoved);
    await store.close();
    const fresh = withEncryption(await createStore(`sqlite:${path}`), { keyring });
    await assert.rejects(fresh.readItems("acme", s.id), isMoved);
    assert.deepEqual((await fresh.getItem("acme", s.id, first.id)).content, first.content);
    await fresh.close();
  });

  it("crypto-shreds: deleting a session destroys its data key, so backups become unreadable", async () => {
    const system = await createStore("memory:");
    const data = await createStore("memory:");
    const keyring = createKeyring([k1]);
    const store = withEncryption(data, { keyring, systemStore: system });
    const s = await store.create("acme", { state: { x: SECRET_TEXT }, items: [msg(SECRET_TEXT)] });
    // A "backup": the raw session copied into another data store.
    const backup = await createStore("memory:");
    const raw = await data.readItems("acme", s.id);
    await backup.create("acme", {
      id: s.id,
      items: raw.map((i) => ({ id: i.id, content: i.content, tokens: i.tokens })),
    });
    const before = withEncryption(backup, { keyring, systemStore: system });
    assert.ok(JSON.stringify(await before.readItems("acme", s.id)).includes(SECRET_TEXT));
    await store.delete("acme", s.id);
    const afterDelete = withEncryption(backup, { keyring, systemStore: system });
    await assert.rejects(afterDelete.readItems("acme", s.id), /data key is gone/);
    assert.equal((await system.list("_hf_data_key")).data.length, 0);
  });

  it("re-sealing a state written before encryption leaves none of its keys in clear, inherited names included", async () => {
    const inner = await createStore("memory:");
    const state = { constructor: SECRET_TEXT, toString: "x", a: 1 };
    const plain = await inner.create("acme", { state });
    const store = withEncryption(inner, { keyring: createKeyring([k1]) });
    await store.patchState("acme", plain.id, { b: 2 });
    assert.deepEqual(Object.keys((await inner.get("acme", plain.id)).state), ["hf_enc"]);
    assert.deepEqual((await store.get("acme", plain.id)).state, { ...state, b: 2 });
  });

  it("shreds the keys of sessions removed behind its back (expiry sweeper), sparing young records", async () => {
    const inner = await createStore("memory:");
    const store = withEncryption(inner, { keyring: createKeyring([k1]) });
    const swept = await store.create("acme", { items: [msg("gone soon")] });
    const kept = await store.create("acme", { items: [msg("stays")] });
    await inner.delete("acme", swept.id); // what a sweeper does: the decorator never sees it
    assert.deepEqual(await store.shredOrphanedKeys(), { checked: 0, shredded: 0 }, "records are too young");
    const later = Date.now() + 600_001;
    assert.deepEqual(await store.shredOrphanedKeys({ now: later }), { checked: 2, shredded: 1 });
    assert.equal((await inner.list("_hf_data_key")).data.length, 1);
    assert.ok(JSON.stringify(await store.readItems("acme", kept.id)).includes("stays"));
  });

  it("the lifecycle sweeper's afterSweep crypto-shreds the keys of the sessions it removed", async () => {
    const clock = { now: Date.now() };
    const inner = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const store = withEncryption(inner, { keyring: createKeyring([k1]) });
    const expiring = await store.create("acme", { idleTtlMs: 60_000, items: [msg("expires")] });
    const kept = await store.create("acme", { items: [msg("stays")] });
    clock.now += 3_600_000;
    const shreds: { checked: number; shredded: number }[] = [];
    const sweeper = createSweeper({
      store: inner,
      policy: parseLifecyclePolicy({ defaults: { on_expiry: "delete" } }),
      clock: () => clock.now,
      afterSweep: async () => shreds.push(await store.shredOrphanedKeys({ now: clock.now })),
    });
    const report = await sweeper.sweepOnce();
    assert.ok(report && report.done >= 1, "the sweeper removed the expired session");
    assert.deepEqual(shreds, [{ checked: 2, shredded: 1 }]);
    const records = (await inner.list("_hf_data_key")).data;
    assert.equal(records.length, 1);
    await assert.rejects(inner.get("acme", expiring.id));
    assert.ok(JSON.stringify(await store.readItems("acme", kept.id)).includes("stays"));
    assert.equal(await sweeper.sweepOnce().then((r) => r?.done), 0);
    assert.equal(shreds.length, 1, "a sweep that did nothing does not scan the keys");
  });

  it("forks: the child reads its inherited history and survives the parent's deletion", async () => {
    const store = withEncryption(await createStore("memory:"), { keyring: createKeyring([k1]) });
    const p = await store.create("acme", { state: { s: 1 }, items: [msg("shared")] });
    const child = await store.fork("acme", p.id, { state: { own: true } });
    assert.deepEqual(child.state, { own: true });
    await store.append("acme", child.id, [msg("child")]);
    const sameState = await store.fork("acme", p.id);
    assert.deepEqual(sameState.state, { s: 1 });
    await store.delete("acme", p.id);
    const items = await store.readItems("acme", child.id);
    assert.deepEqual(
      items.map(
        (i) => JSON.stringify(i.content).includes("shared") || JSON.stringify(i.content).includes("child"),
      ),
      [true, true],
    );
    assert.deepEqual((await store.get("acme", child.id)).state, { own: true });
  });

  it("rotates the master key by re-wrapping data keys without touching items", async () => {
    const inner = await createStore("memory:");
    const old = withEncryption(inner, { keyring: createKeyring([k1]) });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await old.create("acme", { items: [msg(`n${i}`)] })).id);
    const before = JSON.stringify(await Promise.all(ids.map((id) => inner.readItems("acme", id))));
    const rotating = withEncryption(inner, { keyring: createKeyring([k2, k1]) });
    assert.deepEqual(await rotating.rotateMasterKey(), { records: 3, rewrapped: 3 });
    assert.deepEqual(await rotating.rotateMasterKey(), { records: 3, rewrapped: 0 });
    assert.equal(JSON.stringify(await Promise.all(ids.map((id) => inner.readItems("acme", id)))), before);
    const onlyNew = withEncryption(inner, { keyring: createKeyring([k2]) });
    assert.ok(JSON.stringify(await onlyNew.readItems("acme", ids[0] ?? "")).includes("n0"));
    const onlyOld = withEncryption(inner, { keyring: createKeyring([k1]) });
    await assert.rejects(onlyOld.readItems("acme", ids[0] ?? ""), /not in the keyring/);
  });

  it("parses keyrings, newest first, with messages that say what to fix", () => {
    const a = randomBytes(32).toString("base64");
    const b = randomBytes(32).toString("base64");
    const ring = parseKeyring(`new:${a}, old:${b}`);
    assert.equal(ring.active.kid, "new");
    assert.deepEqual(ring.kids, ["new", "old"]);
    assert.equal(ring.get("old")?.key.toString("base64"), b);
    assert.throws(() => parseKeyring(""), /holds no keys/);
    assert.throws(() => parseKeyring(`x:${randomBytes(16).toString("base64")}`), /16 bytes/);
    assert.throws(() => parseKeyring(`bad kid:${a}`), /kid/);
    assert.throws(() => parseKeyring(`k:${a},k:${b}`), /twice/);
    assert.equal(keyringFromEnv({})?.active, undefined);
    assert.equal(keyringFromEnv({ HOLDFAST_KEYS: `k:${a}` })?.active.kid, "k");
  });
});
