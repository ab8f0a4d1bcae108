import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { readPortable } from "../interop/portable/reader.ts";
import { createSessionStore } from "../store/core.ts";
import { DelegatingStore } from "../store/decorators/delegating-store.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import type { Session } from "../store/types.ts";
import type { ArchiveBackend } from "./archive-backend.ts";
import { archivePath, createDirectoryArchiveBackend } from "./archive-files.ts";
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

  it("restores a stub on whichever operation reaches it first, and costs no read otherwise", async () => {
    const base = createSessionStore(createMemoryDriver());
    const archiver = createArchiver(base, { dir });
    const counted = new CountingGets(base);
    const store = withArchives(counted, archiver);
    const live = await base.create("t", { items: [msg("a")] });
    await store.append("t", live.id, [msg("b")]);
    await store.readWindow("t", live.id, { maxTokens: 1000 });
    await store.readItems("t", live.id);
    await store.getItem("t", live.id, (await base.readItems("t", live.id))[0]!.id);
    assert.equal(counted.gets, 0, "a session that is not archived is not read first");

    const operations: Record<string, (id: string, first: string) => Promise<unknown>> = {
      append: (id) => store.append("t", id, [msg("z")]),
      readWindow: (id) => store.readWindow("t", id, { maxTokens: 1000 }),
      readItems: (id) => store.readItems("t", id),
      getItem: (id, first) => store.getItem("t", id, first),
      deleteItem: (id, first) => store.deleteItem("t", id, first),
    };
    for (const [name, run] of Object.entries(operations)) {
      const s = await base.create("t", { items: [msg("x"), msg("y")] });
      const [first] = await base.readItems("t", s.id);
      assert.equal((await archiver.archive("t", s.id)).archived, true);
      await run(s.id, first!.id);
      const after = await base.get("t", s.id);
      assert.equal(after.status, "active", `${name} restored the stub`);
      const expected = name === "append" ? 3 : name === "deleteItem" ? 1 : 2;
      assert.equal(after.itemCount, expected, `${name} then did its work on the restored session`);
    }
    await assert.rejects(store.getItem("t", live.id, "msg_missing"), { code: "not_found" });
    // Archived by a caller (status set, items in place, no archive): the caller's to undo.
    const marked = await base.create("t", { items: [msg("m")] });
    await base.update("t", marked.id, { status: "archived" });
    await assert.rejects(store.append("t", marked.id, [msg("n")]), { code: "session_archived" });
    assert.equal((await store.readItems("t", marked.id)).length, 1);
    const answered = await store.get("t", marked.id);
    assert.deepEqual([answered.status, answered.itemCount], ["archived", 1], "get answers it as it is");
    await store.close();
  });

  it("a restore that lost the race to another restore answers the restored session, and an append waiting on it lands", async () => {
    const base = createSessionStore(createMemoryDriver());
    const files = createDirectoryArchiveBackend(join(dir, "race"));
    // The first read waits until released: its restore has seen the stub, then another restore wins.
    let release = (): void => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reads = 0;
    const backend: ArchiveBackend = {
      kind: files.kind,
      location: files.location,
      compression: files.compression,
      write: (driver, session, items) => files.write(driver, session, items),
      read: async (tenant, id) => {
        if (reads++ === 0) await held;
        return files.read(tenant, id);
      },
      remove: (tenant, id, only) => files.remove(tenant, id, only),
      close: () => files.close(),
    };
    const archiver = createArchiver(base, { backend });
    const store = withArchives(base, archiver);
    const s = await base.create("t", { items: [msg("a"), msg("b")] });
    assert.equal((await archiver.archive("t", s.id)).archived, true);

    const appending = store.append("t", s.id, [msg("c")]);
    while (reads === 0) await new Promise((resolve) => setImmediate(resolve));
    const winner = await archiver.restore("t", s.id);
    assert.equal(winner.status, "active");
    release();
    const appended = await appending;
    assert.equal(appended.firstSeq, 3, "the append landed after the restored items");
    const items = await base.readItems("t", s.id);
    assert.deepEqual(
      items.map((i) => i.seq),
      [1, 2, 3],
      "restored exactly once, no duplicate and no lost append",
    );
    await store.close();
  });

  it("deleting an archived session deletes its archive too", async () => {
    const base = createSessionStore(createMemoryDriver());
    const archiver = createArchiver(base, { dir });
    const store = withArchives(base, archiver);
    const s = await base.create("t", { items: [msg("secret")] });
    assert.equal((await archiver.archive("t", s.id)).archived, true);
    await store.delete("t", s.id);
    await assert.rejects(base.get("t", s.id), { code: "not_found" });
    assert.equal(existsSync(archivePath(dir, "t", s.id)), false, "no content left in cold storage");
    await assert.rejects(archiver.backend.read("t", s.id), { code: "not_found" });
    await store.close();
  });

  it("setting a stub's status to active restores it first: the items come back, the archive goes", async () => {
    const base = createSessionStore(createMemoryDriver());
    const archiver = createArchiver(base, { dir });
    const store = withArchives(base, archiver);
    for (const guarded of [false, true]) {
      const s = await base.create("reactivate", { items: ["a", "b"].map(msg) });
      const items = await base.readItems("reactivate", s.id);
      await archiver.archive("reactivate", s.id);
      const [stub] = (await base.list("reactivate", { status: "archived" })).data;
      assert.equal(stub?.id, s.id);
      const updated = await store.update(
        "reactivate",
        s.id,
        { status: "active", labels: ["back"] },
        guarded ? { expectedVersion: stub.version } : {},
      );
      assert.deepEqual([updated.status, updated.labels, updated.itemCount], ["active", ["back"], 2]);
      assert.deepEqual(await store.readItems("reactivate", s.id), items, "the history is back");
      assert.equal(existsSync(archivePath(dir, "reactivate", s.id)), false, "no orphaned archive");
      assert.equal((await store.append("reactivate", s.id, [msg("c")])).firstSeq, 3);
    }
    // A stale guard still conflicts.
    const s = await base.create("reactivate", { items: [msg("x")] });
    await archiver.archive("reactivate", s.id);
    await assert.rejects(store.update("reactivate", s.id, { status: "active" }, { expectedVersion: 1 }), {
      code: "conflict",
    });
  });

  it("restores a stub before forking it, so the fork holds the whole history", async () => {
    const base = createSessionStore(createMemoryDriver());
    const archiver = createArchiver(base, { dir });
    const store = withArchives(base, archiver);
    const s = await base.create("t", { items: ["a", "b", "c"].map(msg) });
    const items = await base.readItems("t", s.id);
    assert.equal((await archiver.archive("t", s.id)).archived, true);
    const fork = await store.fork("t", s.id, { atSeq: 2 });
    assert.deepEqual(
      (await base.readItems("t", fork.id)).map((i) => i.content),
      items.slice(0, 2).map((i) => i.content),
    );
    assert.equal((await base.get("t", s.id)).status, "active", "the parent was restored");
    const whole = await store.fork("t", s.id);
    assert.equal(whole.itemCount, 3);
    await store.close();
  });
});

/** Counts the `get`s the decorator makes of the store under it. */
class CountingGets extends DelegatingStore {
  gets = 0;

  override get(tenant: string, id: string): Promise<Session> {
    this.gets += 1;
    return this.inner.get(tenant, id);
  }
}
