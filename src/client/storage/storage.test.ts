/** The storage contract, run against every Node adapter (IndexedDB runs in the Chromium e2e). */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createFileStorage } from "./file-storage.ts";
import { createMemoryStorage } from "./memory-storage.ts";
import type { OfflineStorage } from "./types.ts";

async function contract(storage: OfflineStorage): Promise<void> {
  const value = { items: [1, 2], nested: { ok: true } };
  await storage.set("q/2", value);
  await storage.set("q/1", "first");
  await storage.set("c/x", 3);
  await storage.set("__proto__", "plain key");
  value.items.push(3); // the stored copy does not change
  assert.deepEqual(await storage.get("q/2"), { items: [1, 2], nested: { ok: true } });
  assert.equal(await storage.get("__proto__"), "plain key");
  assert.deepEqual(await storage.keys("q/"), ["q/1", "q/2"]);
  await storage.delete("q/1");
  assert.equal(await storage.get("q/1"), undefined);
  assert.deepEqual(await storage.keys("q/"), ["q/2"]);
  // update: one step over the stored values, several keys at once, returning what `change` returns.
  const seen = await storage.update?.((values) => {
    const before = values.get<{ items: number[] }>("q/2");
    values.set("q/3", { from: before?.items.length });
    values.delete("q/2");
    return before?.items.length;
  });
  assert.equal(seen, 2);
  assert.deepEqual(await storage.keys("q/"), ["q/3"]);
  assert.deepEqual(await storage.get("q/3"), { from: 2 });
  await storage.clear();
  assert.deepEqual(await storage.keys(""), []);
}

/** Runs `body` with a fresh temp dir, removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-client-fs-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("offline storage adapters", () => {
  test("memory", () => contract(createMemoryStorage()));

  test("JSON file: the contract, and the data outlives the process", async () => {
    const dir = await mkdtemp(join(tmpdir(), "holdfast-client-fs-"));
    try {
      const path = join(dir, "store.json");
      await contract(await createFileStorage(path));
      const first = await createFileStorage(path);
      await first.set("q/1", { text: "kept" });
      await first.close?.();
      const second = await createFileStorage(path);
      assert.deepEqual(await second.keys("q/"), ["q/1"]);
      assert.deepEqual(await second.get("q/1"), { text: "kept" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("JSON file: two storages writing the same file at once never fail, tear it or lose a write", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "store.json");
      const a = await createFileStorage(path);
      const b = await createFileStorage(path);
      const writes = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).set(`q/${i}`, "x".repeat(20_000)));
      const results = await Promise.allSettled(writes);
      assert.deepEqual(
        results.filter((r) => r.status === "rejected"),
        [],
      );
      assert.equal(Object.keys(JSON.parse(await readFile(path, "utf8"))).length, 40, "every write kept");
      assert.equal((await a.keys("q/")).length, 40, "each storage sees the other's writes");
      assert.deepEqual(await readdir(dir), ["store.json"], "no temp or lock file left behind");
    }));

  test("JSON file: a truncated or foreign file is a clear error and is left as is", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "store.json");
      for (const text of ['{"q/1":"{\\"key\\":\\"hf-1', "", "[1,2]", '{"q/1":{"not":"a string"}}']) {
        await writeFile(path, text);
        await assert.rejects(createFileStorage(path), (error: Error) => {
          assert.match(error.message, /is not a Holdfast offline storage file .* left as is/);
          assert.ok(error.message.includes(path));
          return true;
        });
        assert.equal(await readFile(path, "utf8"), text);
      }
      // Damaged after it was opened (another program): the next write refuses too, leaving it.
      await writeFile(path, "{}");
      const storage = await createFileStorage(path);
      await writeFile(path, '{"q/1":');
      await assert.rejects(storage.set("q/2", "x"), /is not a Holdfast offline storage file/);
      assert.equal(await readFile(path, "utf8"), '{"q/1":');
    }));
});
