import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { migrate } from "../interop/migrate.ts";
import { createArchiver, withArchives } from "../lifecycle/archiver.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createKeyring } from "./encryption/keyring.ts";
import { withEncryption } from "./encryption/with-encryption.ts";

// Writes under the seq binding (item blobs sealed for the seq the store gives them): the
// decorator seals before the driver numbers the items, so these are the cases where what it
// knows of the session's end is stale or was never learned here.
const keyring = createKeyring([{ kid: "k1", key: randomBytes(32) }]);
const dir = mkdtempSync(join(tmpdir(), "holdfast-enc-seq-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});
const texts = async (store: SessionStore, tenant: string, id: string) =>
  (await store.readItems(tenant, id, { limit: 1000 })).map((i) => {
    const part = (i.content.content as { text: string }[])[0];
    return `${i.seq}:${part?.text}`;
  });

describe("encryption at rest: seqs bound into appends", () => {
  it("two instances appending to one session in turns both land, each item opening at its seq", async () => {
    const inner = await createStore("memory:");
    const a = withEncryption(inner, { keyring });
    const b = withEncryption(inner, { keyring });
    const s = await a.create("acme", { items: [msg("a1")] });
    await a.append("acme", s.id, [msg("a2")]);
    // b has never seen the session; then a's kept head is stale (b appended): neither may fail.
    await b.append("acme", s.id, [msg("b1"), msg("b2")]);
    await a.append("acme", s.id, [msg("a3")]);
    await b.append("acme", s.id, [msg("b3")], { operationId: "b-op" });
    await Promise.all([a.append("acme", s.id, [msg("a4")]), b.append("acme", s.id, [msg("b4")])]);
    const fresh = withEncryption(inner, { keyring });
    const all = await texts(fresh, "acme", s.id);
    assert.deepEqual(all.slice(0, 6), ["1:a1", "2:a2", "3:b1", "4:b2", "5:a3", "6:b3"]);
    // The racing pair lands in either order.
    assert.ok(["7:a4,8:b4", "7:b4,8:a4"].includes(all.slice(6).join()), all.join());
    // A version the caller asks for is kept as given: stale or not reached yet, it conflicts.
    const head = await fresh.get("acme", s.id);
    for (const expectedVersion of [head.version - 1, head.version + 1]) {
      await assert.rejects(a.append("acme", s.id, [msg("x")], { expectedVersion }), { code: "conflict" });
    }
    await a.append("acme", s.id, [msg("a5")], { expectedVersion: head.version });
    assert.equal((await texts(fresh, "acme", s.id)).at(-1), "9:a5");
  });

  it("a retry with an operation id replays after the session moved on, even from another instance", async () => {
    const inner = await createStore("memory:");
    const a = withEncryption(inner, { keyring });
    const b = withEncryption(inner, { keyring });
    const s = await a.create("acme", { items: [msg("start")] });
    const first = await a.append("acme", s.id, [msg("q"), msg("r")], { operationId: "turn-1" });
    await a.append("acme", s.id, [msg("later")]);
    for (const store of [a, b]) {
      const again = await store.append("acme", s.id, [msg("q"), msg("r")], { operationId: "turn-1" });
      assert.equal(again.replayed, true);
      assert.deepEqual([again.firstSeq, again.lastSeq, again.version], [2, 3, first.version]);
      assert.deepEqual(again.items, first.items);
    }
    // Another payload under the same operation id is still refused.
    await assert.rejects(a.append("acme", s.id, [msg("other")], { operationId: "turn-1" }), {
      code: "idempotency_conflict",
    });
    assert.deepEqual(await texts(b, "acme", s.id), ["1:start", "2:q", "3:r", "4:later"]);
  });

  it("a copy that closed the gaps of deleted items (migrate) opens, and appends to it keep opening", async () => {
    const source = await createStore("memory:");
    const target = await createStore("memory:");
    const encrypted = withEncryption(source, { keyring });
    const s = await encrypted.create("acme", { items: [msg("one"), msg("two"), msg("three")] });
    const added = await encrypted.append("acme", s.id, [msg("four"), msg("five")]);
    const items = await encrypted.readItems("acme", s.id);
    await encrypted.deleteItem("acme", s.id, (items[1] as { id: string }).id);
    await encrypted.deleteItem("acme", s.id, (added.items[1] as { id: string }).id);
    // The copy is made without keys: sealed items and the data-key records as stored.
    const report = await migrate(source, target, { tenants: ["acme", "_hf_data_key"] });
    assert.deepEqual(report.mismatches, []);
    const copy = withEncryption(target, { keyring });
    assert.deepEqual(await texts(copy, "acme", s.id), ["1:one", "2:three", "3:four"]);
    // Sealed past the copy's newest item (sealed for seq 4), not at its own seq 3.
    await copy.append("acme", s.id, [msg("six")]);
    await withEncryption(target, { keyring }).append("acme", s.id, [msg("seven")]);
    const fresh = withEncryption(target, { keyring });
    assert.deepEqual(await texts(fresh, "acme", s.id), ["1:one", "2:three", "3:four", "4:six", "5:seven"]);
    const window = await fresh.readWindow("acme", s.id, { maxTokens: 10_000 });
    assert.equal(window.items.length, 5);
    const child = await fresh.fork("acme", s.id, { atSeq: 3 });
    await fresh.append("acme", child.id, [msg("branch")]);
    assert.deepEqual(await texts(fresh, "acme", child.id), ["1:one", "2:three", "3:four", "4:branch"]);
  });

  it("archive and restore keep each item at the seq it was sealed for", async () => {
    const inner = await createStore("memory:");
    const archiver = createArchiver(inner, { dir, pageSize: 2 });
    const store = withEncryption(withArchives(inner, archiver), { keyring });
    const s = await store.create("acme", { items: [msg("one"), msg("two"), msg("three")] });
    await store.deleteItem("acme", s.id, (await store.readItems("acme", s.id))[1]?.id as string);
    await store.append("acme", s.id, [msg("four")]);
    assert.equal((await archiver.archive("acme", s.id)).archived, true);
    // An append to the archived session restores it and lands after its items.
    await store.append("acme", s.id, [msg("five")]);
    assert.deepEqual(await texts(withEncryption(inner, { keyring }), "acme", s.id), [
      "1:one",
      "3:three",
      "4:four",
      "5:five",
    ]);
  });
});
