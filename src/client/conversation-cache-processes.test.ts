/**
 * Two processes caching conversations in one file storage: the cache index (sizes and recency)
 * is changed under the storage's lock on what is stored now, so neither drops what the other
 * cached — every conversation stays listed (and so can be evicted), and the budget holds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { importSpecifier, inTempDir, runModuleChild } from "./child-process-test-support.ts";
import { ConversationCache } from "./conversation-cache.ts";
import { createFileStorage } from "./storage/file-storage.ts";

const here = (file: string) => importSpecifier(import.meta.dirname, file);

/** Caches `count` conversations `<name>-<i>`, reading each back once (a recency update) as an app would. */
const cacher = `
import { ConversationCache } from ${here("conversation-cache.ts")};
import { createFileStorage } from ${here("storage/file-storage.ts")};
const [path, name, count, budget] = process.argv.slice(-4);
const storage = await createFileStorage(path);
const cache = new ConversationCache({ storage, budgetBytes: Number(budget) });
for (let i = 0; i < Number(count); i++) {
  const id = name + "-" + String(i).padStart(3, "0");
  await cache.put({ conversation: { id, object: "conversation", version: 1 }, items: [{ role: "user", content: "x".repeat(500) }], version: 1 });
  await cache.get(id);
}
await storage.close();
`;

const runChild = (args: string[]) => runModuleChild(cacher, args);

describe("conversation cache shared by processes", () => {
  test("two processes caching at once: the index lists every conversation either cached", () =>
    inTempDir("holdfast-client-cache-", async (dir) => {
      const path = join(dir, "offline.json");
      const count = 25;
      const runs = await Promise.all([
        runChild([path, "cli", String(count), String(10_000_000)]),
        runChild([path, "daemon", String(count), String(10_000_000)]),
      ]);
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      const storage = await createFileStorage(path);
      const cache = new ConversationCache({ storage });
      const records = await storage.keys("c/");
      assert.equal(records.length, 2 * count);
      assert.deepEqual(
        (await cache.ids()).sort(),
        records.map((key) => key.slice(2)).sort(),
        "none dropped from the index",
      );
    }));

  test("two processes over a small budget: what the index does not list is not stored, and the budget holds", () =>
    inTempDir("holdfast-client-cache-", async (dir) => {
      const path = join(dir, "offline.json");
      const budget = 6000; // about ten conversations of ~560 bytes
      const runs = await Promise.all([
        runChild([path, "cli", "25", String(budget)]),
        runChild([path, "daemon", "25", String(budget)]),
      ]);
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      const storage = await createFileStorage(path);
      const cache = new ConversationCache({ storage, budgetBytes: budget });
      const stored = (await storage.keys("c/")).map((key) => key.slice(2)).sort();
      assert.deepEqual((await cache.ids()).sort(), stored, "every stored conversation is in the index");
      const json = await Promise.all(stored.map(async (id) => JSON.stringify(await storage.get(`c/${id}`))));
      const bytes = json.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
      assert.ok(bytes <= budget, `stored ${bytes} bytes over a budget of ${budget}`);
    }));
});
