import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { readPortable } from "../interop/portable/reader.ts";
import { createSessionStore } from "../store/core.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { archivePath } from "./archive-files.ts";
import { createArchiver, withArchives } from "./archiver.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-archiver-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("archiver", () => {
  it("archives and restores a session with deleted items, seqs and counters unchanged", async () => {
    const base = createSessionStore(createMemoryDriver());
    const archiver = createArchiver(base, { dir, pageSize: 2 });
    const s = await base.create("gaps", { items: ["a", "b", "c", "d", "e"].map(msg) });
    const all = await base.readItems("gaps", s.id);
    await base.deleteItem("gaps", s.id, all[1]!.id);
    const head = await base.deleteItem("gaps", s.id, all[4]!.id);
    const kept = await base.readItems("gaps", s.id);
    const result = await archiver.archive("gaps", s.id, head.version);
    assert.deepEqual([result.archived, result.items], [true, 3]);
    const restored = await archiver.restore("gaps", s.id);
    assert.deepEqual([restored.itemCount, restored.lastSeq, restored.tokenCount], [3, 5, head.tokenCount]);
    assert.deepEqual(await base.readItems("gaps", s.id), kept);
    assert.equal((await base.append("gaps", s.id, [msg("f")])).firstSeq, 6);
  });

  it("archives an expired session to gzip portable JSONL, leaves a stub, restores it transparently", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const base = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const archiver = createArchiver(base, { dir, clock: () => clock.now, pageSize: 7 });
    const store = withArchives(base, archiver);
    const s = await base.create("acme:eu", {
      owner: "ann",
      idleTtlMs: 60_000,
      state: { step: 2 },
      items: Array.from({ length: 20 }, (_, i) => msg(`m${i} \u2028 é`)),
    });
    const items = await base.readItems("acme:eu", s.id);
    clock.now += 120_000;
    await assert.rejects(base.get("acme:eu", s.id), { code: "not_found" });

    assert.equal((await archiver.archive("acme:eu", s.id, s.version + 1)).archived, false, "stale version");
    assert.equal(existsSync(archivePath(dir, "acme:eu", s.id)), false);
    const result = await archiver.archive("acme:eu", s.id, s.version);
    assert.equal(result.archived, true);
    assert.equal(result.items, 20);
    assert.ok(result.bytes > 0 && result.compressedBytes > 0);

    const stub = await base.get("acme:eu", s.id);
    assert.equal(stub.status, "archived");
    assert.equal(stub.itemCount, 20);
    assert.deepEqual(await base.readItems("acme:eu", s.id), []);

    const text = gunzipSync(readFileSync(archivePath(dir, "acme:eu", s.id)));
    const blocks = [];
    for await (const block of readPortable(Readable.from([text]))) blocks.push(block);
    assert.equal(blocks.length, 1);
    assert.deepEqual(blocks[0]!.items, items);
    assert.equal(blocks[0]!.session.owner, "ann");

    assert.deepEqual(await store.readItems("acme:eu", s.id), items, "restored on read");
    const restored = await base.get("acme:eu", s.id);
    assert.equal(restored.status, "active");
    assert.equal(restored.idleTtlMs, 60_000);
    assert.deepEqual(restored.state, { step: 2 });
    assert.equal(existsSync(archivePath(dir, "acme:eu", s.id)), false, "the archive is gone once restored");
    const next = await store.append("acme:eu", s.id, [msg("after")]);
    assert.equal(next.firstSeq, 21);
    await store.close();
  });

  it("purges a stub together with its archive file", async () => {
    const base = createSessionStore(createMemoryDriver());
    const archiver = createArchiver(base, { dir });
    const s = await base.create("t", { items: [msg("x")] });
    await archiver.archive("t", s.id);
    assert.ok(existsSync(archivePath(dir, "t", s.id)));
    const purged = await archiver.purge([{ tenant: "t", id: s.id }]);
    assert.equal(purged.sessions, 1);
    assert.equal(existsSync(archivePath(dir, "t", s.id)), false);
    await assert.rejects(archiver.restore("t", s.id), { code: "not_found" });
    await base.close();
  });
});
