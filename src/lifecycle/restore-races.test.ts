/**
 * Restores that race: several `POST /v1/conversations/:id/restore` (and reads that restore) of one
 * archived conversation at once, and the sweeper archiving it again while restores run. Every
 * answer is a 200 or a clean 409 (retry), never a 404 or 500; the conversation ends restored once,
 * with all its items, dense and without duplicate seqs; an archive is left only while it is
 * archived. On SQLite (dir backend) and Postgres (Postgres table backend).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { createServer } from "../server/create-server.ts";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import type { SessionStore } from "../store/types.ts";
import type { ArchiveBackend } from "./archive-backend.ts";
import { createDirectoryArchiveBackend } from "./archive-files.ts";
import { createPostgresArchiveBackend } from "./archive-table-postgres.ts";
import { type Archiver, createArchiver, withArchives } from "./archiver.ts";
import { parseLifecyclePolicy } from "./policy.ts";
import { createSweeper } from "./sweeper.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-restore-races-"));
const schema = uniqueSchema();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
});

const ITEMS = 40;
const msg = (i: number) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text: `m${i}` }] },
});

interface Setup {
  base: SessionStore;
  backend: ArchiveBackend;
}

const STORES: { name: string; open: () => Promise<Setup> }[] = [
  {
    name: "sqlite",
    open: async () => ({
      base: await createStore(`sqlite:${join(dir, `store-${Date.now()}.db`)}`),
      backend: createDirectoryArchiveBackend(join(dir, `archives-${Date.now()}`)),
    }),
  },
  {
    name: "postgres",
    open: async () => ({
      base: await createStore(schemaUrl(schema)),
      backend: await createPostgresArchiveBackend(schemaUrl(schema)),
    }),
  },
];

for (const kind of STORES) {
  describe(`concurrent restores (${kind.name})`, () => {
    async function withServer(
      check: (t: { base: SessionStore; archiver: Archiver; app: FastifyInstance }) => Promise<void>,
    ): Promise<void> {
      const { base, backend } = await kind.open();
      const archiver = createArchiver(base, { backend });
      const policy = parseLifecyclePolicy({});
      const sweeper = createSweeper({ store: base, policy, archiver });
      const app = await createServer({
        store: withArchives(base, archiver),
        lifecycle: { sweeper, archiver },
      });
      try {
        await check({ base, archiver, app });
      } finally {
        await app.close();
        await backend.close();
        await base.close();
      }
    }

    async function archivedSession(base: SessionStore, archiver: Archiver): Promise<string> {
      const s = await base.create("default", { items: Array.from({ length: ITEMS }, (_, i) => msg(i)) });
      assert.equal((await archiver.archive("default", s.id)).archived, true);
      return s.id;
    }

    async function assertWhole(base: SessionStore, archiver: Archiver, id: string): Promise<void> {
      const session = await base.get("default", id);
      assert.equal(session.status, "active");
      assert.equal(session.itemCount, ITEMS);
      const items = await base.readItems("default", id, { limit: 1000 });
      assert.deepEqual(
        items.map((i) => i.seq),
        Array.from({ length: ITEMS }, (_, i) => i + 1),
        "every item, dense, no duplicate seq",
      );
      assert.deepEqual(
        items.map((i) => (i.content.content as { text: string }[])[0]!.text),
        Array.from({ length: ITEMS }, (_, i) => `m${i}`),
      );
      await assert.rejects(
        archiver.backend.read("default", id),
        { code: "not_found" },
        "the archive is gone",
      );
    }

    it("eight restores and reads of one archived conversation at once: 200s (or 409s), restored once", async () => {
      await withServer(async ({ base, archiver, app }) => {
        for (let round = 0; round < 5; round++) {
          const id = await archivedSession(base, archiver);
          const before = (await base.get("default", id)).version;
          const answers = await Promise.all([
            ...Array.from({ length: 6 }, () =>
              app.inject({ method: "POST", url: `/v1/conversations/${id}/restore` }),
            ),
            app.inject({ method: "GET", url: `/v1/conversations/${id}/items?limit=100` }),
            app.inject({ method: "GET", url: `/v1/conversations/${id}` }),
          ]);
          for (const res of answers)
            assert.ok([200, 409].includes(res.statusCode), `${res.statusCode} ${res.body}`);
          assert.ok(answers.some((r) => r.statusCode === 200));
          const items = answers[6]!;
          if (items.statusCode === 200) assert.equal(items.json().data.length, ITEMS);
          await assertWhole(base, archiver, id);
          assert.equal((await base.get("default", id)).version, before + 1, "restored exactly once");
        }
      });
    });

    it("the sweeper archiving while restores run: 200s or 409s; the conversation ends whole", async () => {
      await withServer(async ({ base, archiver, app }) => {
        for (let round = 0; round < 10; round++) {
          const id = await archivedSession(base, archiver);
          // One sweeper: it archives the session again whenever it finds it restored, one archive at a time.
          let racing = true;
          const sweeper = (async () => {
            while (racing) {
              await archiver.archive("default", id);
              await new Promise((r) => setImmediate(r));
            }
          })();
          const answers = await Promise.all(
            Array.from({ length: 4 }, async (_, i) => {
              await new Promise((r) => setTimeout(r, i * (round % 4)));
              return app.inject({ method: "POST", url: `/v1/conversations/${id}/restore` });
            }),
          );
          racing = false;
          await sweeper;
          for (const res of answers)
            assert.ok([200, 409].includes(res.statusCode), `${res.statusCode} ${res.body}`);
          // Whatever state the race left, one more restore brings every item back.
          const last = await app.inject({ method: "POST", url: `/v1/conversations/${id}/restore` });
          assert.equal(last.statusCode, 200, last.body);
          await assertWhole(base, archiver, id);
        }
      });
    });
  });
}
