/**
 * Two outboxes on one storage (two tabs, or two processes on one file): what one removed (sent)
 * stays removed when the other, working from its older copy, updates it (a rebase, a refusal).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Outbox, type QueuedAppend } from "./outbox.ts";
import { createFileStorage } from "./storage/file-storage.ts";
import { createMemoryStorage } from "./storage/memory-storage.ts";
import type { OfflineStorage } from "./storage/types.ts";

test("an update never brings back an entry another outbox removed meanwhile", async () => {
  const storage = createMemoryStorage();
  const daemon = new Outbox(storage);
  const cli = new Outbox(storage);
  await daemon.enqueue({
    key: "hf-1",
    conversationId: "c",
    items: [{ role: "user", content: "hi" }],
    queuedAt: 1,
    rebases: 0,
  });
  assert.equal((await cli.list()).length, 1);
  await daemon.remove("hf-1"); // sent by the daemon
  await cli.update("hf-1", (entry) => ({
    ...entry,
    error: { status: 404, code: "not_found", message: "gone" },
  }));
  assert.deepEqual(await storage.keys("q/"), [], "the sent entry stays gone");
  assert.deepEqual(await cli.list(), []);
});

test("an update applies to the stored entry, not to an older copy", async () => {
  const storage = createMemoryStorage();
  const a = new Outbox(storage);
  const b = new Outbox(storage);
  await a.enqueue({ key: "hf-1", conversationId: "c", items: [], queuedAt: 1, rebases: 0 });
  await b.list();
  await a.update("hf-1", (entry) => ({ ...entry, rebases: entry.rebases + 1 }));
  await b.update("hf-1", (entry) => ({ ...entry, rebases: entry.rebases + 1 }));
  assert.equal((await a.list())[0]?.rebases, 2);
});

test("two processes on one file: a send landing while the other updates the entry is not undone", async () => {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-outbox-"));
  try {
    const path = join(dir, "store.json");
    const mine = await createFileStorage(path);
    const theirs = await createFileStorage(path);
    const entry: QueuedAppend = { key: "hf-1", conversationId: "c", items: [], queuedAt: 1, rebases: 0 };
    // The other process sends the entry and removes it as soon as it can: right after this one
    // reads it, or, when this one reads and writes it in one step under the file's lock, just
    // before that step (no process can act inside it).
    let armed = false;
    const removeTheirs = async (): Promise<void> => {
      if (!armed) return;
      armed = false;
      await new Outbox(theirs).remove("hf-1");
    };
    const racing: OfflineStorage = {
      ...mine,
      get: async <T>(key: string) => {
        const value = await mine.get<T>(key);
        if (key.startsWith("q/")) await removeTheirs();
        return value;
      },
      update: async (change) => {
        await removeTheirs();
        return mine.update!(change);
      },
    };
    const outbox = new Outbox(racing);
    await outbox.enqueue(entry);
    armed = true;
    await outbox.update("hf-1", (stored) => ({ ...stored, rebases: stored.rebases + 1 }));
    assert.equal(armed, false, "the other process did send it");
    assert.deepEqual(await theirs.keys("q/"), [], "the sent entry stays gone");
    assert.deepEqual(await outbox.list(), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
