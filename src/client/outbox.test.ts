/**
 * Two outboxes on one storage (two tabs, or two processes on one file): what one removed (sent)
 * stays removed when the other, working from its older copy, updates it (a rebase, a refusal).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Outbox } from "./outbox.ts";
import { createMemoryStorage } from "./storage/memory-storage.ts";

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
