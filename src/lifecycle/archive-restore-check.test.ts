import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import { createPostgresDriver } from "../store/drivers/postgres.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { createSqliteDriver } from "../store/drivers/sqlite.ts";
import type { Item, SessionStore } from "../store/types.ts";
import { createArchiver, lifecycleDriver } from "./archiver.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-restore-check-"));
const schema = uniqueSchema();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
});

const DRIVERS: [string, () => Promise<SessionStore>][] = [
  ["sqlite", async () => createSessionStore(createSqliteDriver({ path: join(dir, "store.db") }))],
  [
    "postgres",
    async () => createSessionStore(await createPostgresDriver({ connectionString: schemaUrl(schema) })),
  ],
];

// An archive written before the store refused these (or edited by hand): text the plain-text
// columns cannot keep, in each field an append checks.
const DAMAGE: [string, (item: Item) => Item][] = [
  ["type", (i) => ({ ...i, type: "mess\u0000age", content: { ...i.content, type: "mess\u0000age" } })],
  ["role", (i) => ({ ...i, role: "us\ud800er" })],
  ["content.call_id", (i) => ({ ...i, content: { ...i.content, call_id: "c\u00001" } })],
  ["turnId", (i) => ({ ...i, turnId: "turn\u0000" })],
];

async function* yieldAll(items: Item[]): AsyncGenerator<Item> {
  yield* items;
}

for (const [name, open] of DRIVERS) {
  describe(`restore of an archive holding text the ${name} store cannot keep`, () => {
    it("fails with archive_corrupt naming the item and field, and leaves the stub and archive as they were", async () => {
      const store = await open();
      const archiver = createArchiver(store, { dir: join(dir, `archives-${name}`) });
      try {
        for (const [field, damage] of DAMAGE) {
          const s = await store.create("t", {
            items: [
              { content: { type: "message", role: "user", content: "a" } },
              { content: { type: "message", role: "user", content: "b" } },
            ],
          });
          const items = await store.readItems("t", s.id);
          const session = await store.get("t", s.id);
          await archiver.backend.write(store.driverName, session, yieldAll([items[0]!, damage(items[1]!)]));
          const stub = await lifecycleDriver(store).archiveStub("t", s.id, {
            version: session.version,
            now: Date.now(),
          });
          assert.ok(stub);
          for (let attempt = 0; attempt < 2; attempt++) {
            await assert.rejects(archiver.restore("t", s.id), (error: Error & { code?: string }) => {
              assert.equal(error.code, "archive_corrupt", `${field}: ${String(error)}`);
              assert.match(error.message, /item 2 of 2 \(seq 2\)/);
              assert.ok(error.message.includes(`its ${field} `), `${field}: ${error.message}`);
              return true;
            });
          }
          const after = await store.get("t", s.id);
          assert.deepEqual([after.status, after.version], ["archived", stub.version], field);
          assert.deepEqual(await store.readItems("t", s.id), [], `${field}: nothing half-restored`);
        }
      } finally {
        await archiver.backend.close();
        await store.close();
      }
    });
  });
}
