/** The storage contract, run against every Node adapter (IndexedDB runs in the Chromium e2e). */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
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
  await storage.clear();
  assert.deepEqual(await storage.keys(""), []);
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
});
