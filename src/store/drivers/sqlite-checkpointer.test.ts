/**
 * The background checkpointer: WAL pages reach the database file without any checkpoint on the
 * driver's connection, the connection keeps only a backstop, and close() stops the worker.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSessionStore } from "../core.ts";
import { createSqliteDriver, type SqliteDriverOptions } from "./sqlite.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-ckpt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });

/** Writes ~2 MB into a new store file and returns the database file's size after `waitMs`. */
async function fileGrowth(name: string, options: Partial<SqliteDriverOptions>, waitMs: number) {
  const path = join(dir, name);
  const store = createSessionStore(createSqliteDriver({ path, ...options }));
  const before = statSync(path).size;
  const s = await store.create("t");
  await Promise.all(
    Array.from({ length: 200 }, (_, i) => store.append("t", s.id, [say(`${i} ${"x".repeat(10_000)}`)])),
  );
  const deadline = Date.now() + waitMs;
  while (statSync(path).size === before && Date.now() < deadline) await sleep(20);
  const grown = statSync(path).size > before;
  return { store, path, grown };
}

describe("sqlite background checkpointer", () => {
  it("copies WAL pages into the file off the connection, which keeps only a backstop", async () => {
    // 100,000 pages: the connection's own checkpoint (backstop at 8×) never fires for 2 MB.
    const { store, grown } = await fileGrowth("background.db", { checkpointPages: 100_000 }, 5000);
    assert.ok(grown, "the worker checkpointed the WAL into the database file");
    await store.close();
  });

  it("leaves checkpoints to the connection when inline", async () => {
    const { store, grown } = await fileGrowth(
      "inline.db",
      { checkpointPages: 100_000, checkpoint: "inline" },
      600,
    );
    assert.equal(grown, false, "no checkpoint below checkpointPages");
    await store.close();
  });

  it("rejects an unknown checkpoint mode", () => {
    assert.throws(
      () => createSqliteDriver({ path: join(dir, "bad.db"), checkpoint: "sometimes" as never }),
      (e: { code?: string }) => e.code === "invalid_argument",
    );
  });
});
