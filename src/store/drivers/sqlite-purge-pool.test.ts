/**
 * The SQLite purge worker's life cycle: the driver is told when it runs (it leaves WAL
 * checkpoints to the worker's checkpointer meanwhile) and when it stopped by itself after
 * being idle (with its checkpointer thread: the driver resumes automatic checkpoints).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { held } from "../../../test/support/held.ts";
import { createSessionStore } from "../core.ts";
import { createSqliteDriver } from "./sqlite.ts";
import { SqlitePurgeWorker } from "./sqlite-purge-pool.ts";
import { WriteGate } from "./sqlite-write-gate.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-purge-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("sqlite purge worker", () => {
  it("tells the driver when it starts and when it stopped after being idle", async () => {
    const path = join(dir, "purge.db");
    const store = createSessionStore(createSqliteDriver({ path }));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const items = Array.from({ length: 20 }, (_, n) => ({
        content: { type: "message", role: "user", content: [{ type: "input_text", text: `m${n}` }] },
      }));
      ids.push((await store.create("t", { items })).id);
    }
    await store.close();

    const events: boolean[] = [];
    let stopped: () => void = () => {};
    const nextStop = () =>
      new Promise<void>((resolve) => {
        stopped = resolve;
      });
    const idle = nextStop();
    const worker = new SqlitePurgeWorker(path, {
      busyTimeoutMs: 5000,
      gate: new WriteGate(),
      idleMs: 20,
      onRunning: (running) => {
        events.push(running);
        if (!running) stopped();
      },
    });
    const result = await worker.purge(ids.map((id) => ({ tenant: "t", id })));
    assert.equal(result.sessions, 20);
    assert.equal(result.items, 400);
    await held(idle);
    assert.deepEqual(events, [true, false], "told once when it started and once when it stopped");
    // A purge after the stop starts a new worker (and tells the driver again).
    assert.equal((await worker.purge([{ tenant: "t", id: ids[0]! }])).sessions, 0);
    assert.deepEqual(events, [true, false, true]);
    // stop() only asks the worker to close; its closing connection may still hold the file
    // (the last connection's checkpoint), so wait until it has exited before reading.
    const exited = nextStop();
    worker.stop();
    await held(exited);
    assert.deepEqual(events, [true, false, true, false]);

    const db = new DatabaseSync(path, { timeout: 5000 });
    assert.equal((db.prepare("SELECT count(*) AS n FROM items").get() as { n: number }).n, 0);
    db.close();
  });
});

describe("sqlite purge worker and the WAL", () => {
  it("keeps the WAL short on a long purge: it checkpoints every budget and the WAL starts over", async () => {
    const path = join(dir, "wal.db");
    const store = createSessionStore(createSqliteDriver({ path }));
    const ids: string[] = [];
    const items = Array.from({ length: 50 }, (_, n) => ({
      content: {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: `${n} ${"w".repeat(300)}` }],
      },
    }));
    for (let i = 0; i < 200; i++) ids.push((await store.create("t", { items })).id);
    await store.close();
    // The store's close checkpointed and truncated the WAL: what it holds now is the purge's.
    const walBytes = () => {
      try {
        return statSync(`${path}-wal`).size;
      } catch {
        return 0;
      }
    };
    assert.equal(walBytes(), 0);
    // An open connection (reading nothing) keeps the worker's closing connection from
    // checkpointing and deleting the WAL, so its size after the purge is what the purge left.
    const db = new DatabaseSync(path, { timeout: 5000 });
    db.prepare("SELECT count(*) FROM sessions").get(); // a connection opens the WAL at its first read

    const exited = new Promise<void>((resolve) => {
      const worker = new SqlitePurgeWorker(path, {
        busyTimeoutMs: 5000,
        gate: new WriteGate(),
        idleMs: 10,
        walBudgetBytes: 1024 * 1024,
        onRunning: (running) => {
          if (!running) resolve();
        },
      });
      void worker.purge(ids.map((id) => ({ tenant: "t", id }))).then((result) => {
        assert.equal(result.items, 10_000);
      });
    });
    await held(exited);
    // Purging 10,000 items of ~400 bytes grows a WAL nobody checkpoints to ~4 MB; starting over
    // every ~1 MB of budget keeps the file under 1 MB (the last cycle plus the largest transaction).
    assert.ok(walBytes() < 2 * 1024 * 1024, `WAL file ${walBytes()} bytes`);
    assert.equal((db.prepare("SELECT count(*) AS n FROM items").get() as { n: number }).n, 0);
    db.close();
  });
});
