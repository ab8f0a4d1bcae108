/**
 * The background checkpointer: WAL pages reach the database file without any checkpoint on the
 * driver's connection, the connection keeps only a backstop, and close() stops the worker;
 * during a lifecycle purge nothing is copied and the backstop returns only once the purge's WAL
 * has been copied.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { held } from "../../../test/support/held.ts";
import { createSessionStore } from "../core.ts";
import { createSqliteDriver, type SqliteDriverOptions } from "./sqlite.ts";
import { SqliteCheckpointer } from "./sqlite-checkpointer.ts";
import { walStateReader } from "./sqlite-compat.ts";
import { WriteGate } from "./sqlite-write-gate.ts";

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

  it("copies nothing while a purge runs and brings the backstop back once the purge's WAL is copied", async () => {
    const path = join(dir, "purge.db");
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v TEXT)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    const state = walStateReader(db, path); // copies nothing, whatever the SQLite version
    const gate = new WriteGate();
    const backstop: boolean[] = [];
    let back: () => void = () => {};
    const restored = new Promise<void>((resolve) => {
      back = resolve;
    });
    let copiedWhenBack = false;
    const checkpointer = new SqliteCheckpointer(path, {
      gate,
      resetPages: 10,
      onStop: () => {},
      backstop: (on) => {
        backstop.push(on);
        if (!on) return;
        const s = state();
        copiedWhenBack = s.log - s.checkpointed < 10;
        back();
      },
    });
    checkpointer.ensure();
    gate.setPurging(true);
    checkpointer.purging(true);
    assert.deepEqual(backstop, [false], "the connection's backstop is off during the purge");
    // ~4 MB of WAL written under the purge; before, a checkpoint copied it once a second.
    for (let i = 0; i < 400; i++) insert.run("x".repeat(10_000));
    await sleep(1500);
    assert.equal(state().checkpointed, 0, "nothing copied while the purge runs");
    gate.setPurging(false);
    checkpointer.purging(false);
    await held(restored);
    assert.deepEqual(backstop, [false, true]);
    assert.ok(copiedWhenBack, "the backstop returned only after the purge's WAL was copied");
    await checkpointer.stop();
    db.close();
  });

  it("only looks at the WAL between its checkpoints: fewer frames than resetPages stay uncopied", async () => {
    // On an SQLite without wal_checkpoint(NOOP) (Node 22's), looking used to run a PASSIVE
    // checkpoint: the WAL was copied and the file fsynced at every 50 ms tick.
    const path = join(dir, "look.db");
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v TEXT)");
    const state = walStateReader(db, path);
    const checkpointer = new SqliteCheckpointer(path, {
      gate: new WriteGate(),
      resetPages: 10_000,
      onStop: () => {},
    });
    checkpointer.ensure();
    try {
      db.prepare("INSERT INTO t (v) VALUES (?)").run("x".repeat(100_000));
      // ~10 ticks, and under the 1 s after which any waiting frame is copied.
      await sleep(500);
      const now = state();
      assert.ok(now.log > 20, `frames written: ${now.log}`);
      assert.equal(now.checkpointed, 0, "nothing copied below resetPages");
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it("rejects an unknown checkpoint mode", () => {
    assert.throws(
      () => createSqliteDriver({ path: join(dir, "bad.db"), checkpoint: "sometimes" as never }),
      (e: { code?: string }) => e.code === "invalid_argument",
    );
  });
});
