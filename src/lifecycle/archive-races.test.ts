/**
 * Archive calls racing on one session, unforced, on real stores: SQLite with the dir backend,
 * Postgres with the Postgres table backend, SQLite with the SQLite table backend. Many
 * `archive` calls at once (two sweepers, a reset schedule), then archives racing restores and
 * appends. However they interleave, the session ends live with every item or a stub whose
 * archive restores every item, in order. (Forced interleavings: archive-write-order.test.ts.)
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { isHoldfastError } from "../store/errors.ts";
import type { Item, SessionStore } from "../store/types.ts";
import type { ArchiveBackend } from "./archive-backend.ts";
import { createDirectoryArchiveBackend } from "./archive-files.ts";
import { createPostgresArchiveBackend } from "./archive-table-postgres.ts";
import { createSqliteArchiveBackend } from "./archive-table-sqlite.ts";
import { type Archiver, createArchiver, withArchives } from "./archiver.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-archive-races-"));
const schema = uniqueSchema();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
});

const ITEMS = 30;
const ROUNDS = 8;
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});
const texts = (items: Item[]) => items.map((i) => (i.content.content as { text: string }[])[0]!.text);
const initial = Array.from({ length: ITEMS }, (_, i) => `m${i}`);

const STORES: { name: string; open: () => Promise<{ base: SessionStore; backend: ArchiveBackend }> }[] = [
  {
    name: "sqlite + dir",
    open: async () => ({
      base: await createStore(`sqlite:${join(dir, "dir-store.db")}`),
      backend: createDirectoryArchiveBackend(join(dir, "archives")),
    }),
  },
  {
    name: "postgres + table",
    open: async () => ({
      base: await createStore(schemaUrl(schema)),
      backend: await createPostgresArchiveBackend(schemaUrl(schema)),
    }),
  },
  {
    name: "sqlite + table",
    open: async () => ({
      base: await createStore(`sqlite:${join(dir, "table-store.db")}`),
      backend: createSqliteArchiveBackend(join(dir, "archives.db")),
    }),
  },
];

/** A few ms of jitter, different per call, so the calls overlap at different steps each round. */
const jitter = (n: number) => new Promise((resolve) => setTimeout(resolve, n % 4));

/**
 * Live with `expected` (initial items in order, then the appended ones in any order), or a stub
 * whose archive restores exactly those; afterwards no archive is left behind.
 */
async function assertWhole(base: SessionStore, archiver: Archiver, id: string, appended: string[]) {
  const session = await base.get("default", id);
  if (session.status === "archived") {
    const restored = await archiver.restore("default", id);
    assert.equal(restored.status, "active");
  }
  const items = await base.readItems("default", id, { limit: 1000 });
  const got = texts(items);
  assert.deepEqual(got.slice(0, ITEMS), initial, "every original item, in order");
  assert.deepEqual(got.slice(ITEMS).sort(), [...appended].sort(), "every append that succeeded");
  const seqs = items.map((i) => i.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    "in seq order",
  );
  assert.equal(new Set(seqs).size, seqs.length, "no duplicate seq");
  await assert.rejects(archiver.backend.read("default", id), { code: "not_found" }, "no archive left");
}

/** A racing restore may find the archive set aside for a moment; what matters is the end state. */
const tolerated = (error: unknown) =>
  isHoldfastError(error) &&
  ["not_found", "conflict", "archive_corrupt", "session_archived"].includes(error.code);

for (const kind of STORES) {
  describe(`archive calls racing (${kind.name})`, () => {
    async function withArchiver(check: (base: SessionStore, archiver: Archiver) => Promise<void>) {
      const { base, backend } = await kind.open();
      try {
        await check(base, createArchiver(base, { backend, pageSize: 7 }));
      } finally {
        await backend.close();
        await base.close();
      }
    }

    it("eight archive calls at once: one makes the stub, and its archive restores every item", async () => {
      await withArchiver(async (base, archiver) => {
        for (let round = 0; round < ROUNDS; round++) {
          const s = await base.create("default", { items: initial.map(msg) });
          const results = await Promise.all(
            Array.from({ length: 8 }, async (_, i) => {
              await jitter(i * round);
              return archiver.archive("default", s.id);
            }),
          );
          assert.equal(
            results.filter((r) => r.archived).length,
            1,
            "one call made the stub (the others found it moved)",
          );
          await assertWhole(base, archiver, s.id, []);
        }
      });
    });

    it("archive calls racing restores and appends: the session ends whole", async () => {
      await withArchiver(async (base, archiver) => {
        const store = withArchives(base, archiver);
        for (let round = 0; round < ROUNDS; round++) {
          const s = await base.create("default", { items: initial.map(msg) });
          const appended: string[] = [];
          const calls = [
            ...Array.from({ length: 6 }, async (_, i) => {
              await jitter(i + round);
              await archiver.archive("default", s.id);
            }),
            ...Array.from({ length: 2 }, async (_, i) => {
              await jitter(2 * i + round);
              await archiver.restore("default", s.id).catch((error: unknown) => {
                if (!tolerated(error)) throw error;
              });
            }),
            ...Array.from({ length: 3 }, async (_, i) => {
              await jitter(i * 3 + round);
              const text = `a${round}-${i}`;
              try {
                await store.append("default", s.id, [msg(text)]);
                appended.push(text);
              } catch (error) {
                if (!tolerated(error)) throw error;
              }
            }),
          ];
          await Promise.all(calls);
          await assertWhole(base, archiver, s.id, appended);
        }
      });
    });
  });
}
