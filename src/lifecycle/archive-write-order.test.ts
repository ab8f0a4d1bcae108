/**
 * Two archive calls of one session that interleave (two sweepers — one taking over a stalled
 * one's lease —, or a reset schedule archiving while the sweeper does), on every backend (dir,
 * SQLite table, Postgres table): whichever call makes the stub, its archive stays and restores
 * every item; an older copy never replaces a newer archive. Each interleaving is forced by holding
 * one call's write at a gate. The same races unforced, on real stores: archive-races.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import type { Item, Session, SessionStore } from "../store/types.ts";
import type { ArchiveBackend } from "./archive-backend.ts";
import { openArchiveBackend } from "./archive-open.ts";
import { type Archiver, createArchiver } from "./archiver.ts";
import type { ArchiveSettings } from "./config.ts";

const root = mkdtempSync(join(tmpdir(), "holdfast-archive-write-order-"));
const schema = uniqueSchema();
after(async () => {
  rmSync(root, { recursive: true, force: true });
  await dropSchema(schema);
});

const BACKENDS: { name: string; settings: ArchiveSettings }[] = [
  { name: "dir", settings: { backend: "dir", dir: join(root, "dir"), url: null, compression: "gzip" } },
  {
    name: "sqlite",
    settings: { backend: "sqlite", dir: "", url: `sqlite:${join(root, "archives.db")}`, compression: "gzip" },
  },
  {
    name: "postgres",
    settings: { backend: "postgres", dir: "", url: schemaUrl(schema), compression: "gzip" },
  },
];

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});
const texts = (items: Item[]) => items.map((i) => (i.content.content as { text: string }[])[0]!.text);

async function* yieldAll(items: Item[]): AsyncGenerator<Item> {
  yield* items;
}

/**
 * A backend whose first write is held: `copied` once that call has read its copy of the items
 * (or, with `before: true`, before it reads them), stored only after `release()`.
 */
function heldFirstWrite(backend: ArchiveBackend, before: boolean) {
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let copiedNow = (): void => {};
  const copied = new Promise<void>((resolve) => {
    copiedNow = resolve;
  });
  let writes = 0;
  const held: ArchiveBackend = {
    kind: backend.kind,
    location: backend.location,
    compression: backend.compression,
    write: async (driver: string, session: Session, items: AsyncIterable<Item>) => {
      if (writes++ > 0) return backend.write(driver, session, items);
      if (before) {
        copiedNow();
        await gate;
        return backend.write(driver, session, items);
      }
      const copy: Item[] = [];
      for await (const item of items) copy.push(item);
      copiedNow();
      await gate;
      return backend.write(driver, session, yieldAll(copy));
    },
    read: (tenant, id) => backend.read(tenant, id),
    remove: (tenant, id, only) => backend.remove(tenant, id, only),
    close: () => backend.close(),
  };
  return { held, copied, release };
}

for (const b of BACKENDS) {
  describe(`archive calls that interleave (${b.name})`, () => {
    async function setup(before = false) {
      const base = createSessionStore(createMemoryDriver());
      const { backend } = await openArchiveBackend(b.settings);
      const gate = heldFirstWrite(backend, before);
      const archiver = createArchiver(base, { backend: gate.held, pageSize: 2 });
      return { base, backend, archiver, ...gate };
    }

    async function assertRestores(base: SessionStore, archiver: Archiver, id: string, expected: string[]) {
      assert.equal((await base.get("t", id)).status, "archived", "the session is a stub");
      const restored = await archiver.restore("t", id);
      assert.equal(restored.itemCount, expected.length);
      assert.deepEqual(texts(await base.readItems("t", id)), expected, "every item, in order");
    }

    it("the call that loses the stub step keeps the winner's archive of the same version", async () => {
      const { base, backend, archiver, copied, release } = await setup();
      try {
        const s = await base.create("t", { items: ["a", "b", "c", "d", "e"].map(msg) });
        const late = archiver.archive("t", s.id); // reads version v, copies, then waits
        await copied;
        assert.equal((await archiver.archive("t", s.id)).archived, true, "the other call makes the stub");
        release();
        assert.equal((await late).archived, false);
        await assertRestores(base, archiver, s.id, ["a", "b", "c", "d", "e"]);
      } finally {
        await backend.close();
      }
    });

    it("a call that copies after another made the stub (no items left) stores nothing", async () => {
      const { base, backend, archiver, copied, release } = await setup(true);
      try {
        const s = await base.create("t", { items: ["a", "b", "c", "d", "e"].map(msg) });
        const late = archiver.archive("t", s.id); // reads version v, waits, then copies the stub
        await copied;
        assert.equal((await archiver.archive("t", s.id)).archived, true);
        release();
        assert.equal((await late).archived, false);
        await assertRestores(base, archiver, s.id, ["a", "b", "c", "d", "e"]);
      } finally {
        await backend.close();
      }
    });

    it("an older copy, stored late, never replaces the archive of the session changed since", async () => {
      const { base, backend, archiver, copied, release } = await setup();
      try {
        const s = await base.create("t", { items: ["a", "b", "c"].map(msg) });
        const late = archiver.archive("t", s.id); // copies a, b, c at version v
        await copied;
        await base.append("t", s.id, [msg("d")]);
        assert.equal((await archiver.archive("t", s.id)).archived, true, "archives a, b, c, d");
        release();
        assert.equal((await late).archived, false);
        assert.equal((await backend.read("t", s.id)).items.length, 4, "the newer archive stayed");
        await assertRestores(base, archiver, s.id, ["a", "b", "c", "d"]);
      } finally {
        await backend.close();
      }
    });

    it("a late copy of a session a caller marked archived since (items kept) is removed, not restored over it", async () => {
      const { base, backend, archiver, copied, release } = await setup();
      try {
        const s = await base.create("t", { items: ["a", "b", "c"].map(msg) });
        const late = archiver.archive("t", s.id);
        await copied;
        await base.append("t", s.id, [msg("d")]);
        await base.update("t", s.id, { status: "archived" }); // no archive: the items stay
        release();
        assert.equal((await late).archived, false);
        await assert.rejects(backend.read("t", s.id), { code: "not_found" }, "the stale copy is gone");
        assert.deepEqual(texts(await base.readItems("t", s.id)), ["a", "b", "c", "d"]);
      } finally {
        await backend.close();
      }
    });

    it("write keeps an archive of a newer session version and replaces one of the same or an older", async () => {
      const base = createSessionStore(createMemoryDriver());
      const { backend } = await openArchiveBackend(b.settings);
      try {
        const s = await base.create("w", { items: ["a", "b"].map(msg) });
        const items = await base.readItems("w", s.id);
        const at = (version: number) => ({ ...s, version });
        assert.equal((await backend.write("memory", at(5), yieldAll(items))).written, true);
        const older = await backend.write("memory", at(4), yieldAll(items.slice(0, 1)));
        assert.equal(older.written, false);
        const kept = await backend.read("w", s.id);
        assert.deepEqual([kept.session.version, kept.items.length], [5, 2]);
        assert.equal((await backend.write("memory", at(5), yieldAll(items))).written, true, "same version");
        assert.equal((await backend.write("memory", at(6), yieldAll(items.slice(0, 1)))).written, true);
        const newer = await backend.read("w", s.id);
        assert.deepEqual([newer.session.version, newer.items.length], [6, 1]);
      } finally {
        await backend.close();
      }
    });
  });
}
