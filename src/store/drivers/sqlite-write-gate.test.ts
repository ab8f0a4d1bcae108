/**
 * The write gate between the group-commit writer and the purge worker: a live write waits for
 * the purge's transaction without sleeping in SQLite's busy handler, the purge sees `wanted()`
 * while writes are queued, and a stuck or dead purge never blocks writes for good.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { WriteGate } from "./sqlite-write-gate.ts";
import { GroupCommitWriter } from "./sqlite-writer.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-gate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function open(name: string): { db: DatabaseSync; purge: DatabaseSync } {
  const path = join(dir, name);
  const db = new DatabaseSync(path, { timeout: 5 });
  db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)");
  return { db, purge: new DatabaseSync(path, { timeout: 0 }) };
}

describe("sqlite write gate", () => {
  it("a live write waits for the purge's transaction to end, then commits", async () => {
    const { db, purge } = open("handoff.db");
    const gate = new WriteGate();
    const side = new WriteGate(gate.buffer); // the worker's view of the same memory
    const writer = new GroupCommitWriter(db, { busyDeadlineMs: 5000, maxBatch: 10, gate });
    side.enter(0);
    // Only the gate is held, not SQLite's lock: the write can only be waiting on the gate.
    purge.exec("INSERT INTO t VALUES (1)");
    let done = false;
    const write = writer
      .write(() => db.prepare("INSERT INTO t VALUES (2)").run())
      .then(() => {
        done = true;
      });
    assert.equal(side.wanted(), true, "a queued write asks the purge to make way");
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(done, false, "the write is still waiting for the purge's transaction");
    side.exit();
    await write;
    assert.equal(side.wanted(), false, "an empty queue lets the purge go on");
    assert.deepEqual(
      db
        .prepare("SELECT v FROM t ORDER BY rowid")
        .all()
        .map((r) => r.v),
      [1, 2],
    );
    await writer.close();
    purge.close();
    db.close();
  });

  it("the purge does not start a transaction while writes are queued (up to its patience)", async () => {
    const gate = new WriteGate();
    const side = new WriteGate(gate.buffer);
    gate.want();
    const started = performance.now();
    side.enter(20);
    assert.ok(performance.now() - started >= 19, "the purge waited for the writer to idle");
    assert.equal(gate.tryEnter(), false, "the purge holds the lock after its patience ran out");
    side.exit();
    assert.equal(gate.tryEnter(), true);
    gate.leave();
    gate.idle();
    const quick = performance.now();
    side.enter(1000);
    assert.ok(performance.now() - quick < 500, "an idle writer lets the purge in at once");
    side.exit();
  });

  it("tells the checkpointer while a purge worker runs", () => {
    const gate = new WriteGate();
    const checkpointer = new WriteGate(gate.buffer);
    assert.equal(checkpointer.purging(), false);
    gate.setPurging(true);
    assert.equal(checkpointer.purging(), true);
    gate.setPurging(false);
    assert.equal(checkpointer.purging(), false);
  });

  it("reset frees a lock left by a dead worker", async () => {
    const { db } = open("reset.db");
    const gate = new WriteGate();
    new WriteGate(gate.buffer).enter(0);
    gate.reset();
    const writer = new GroupCommitWriter(db, { busyDeadlineMs: 5000, maxBatch: 10, gate });
    const started = performance.now();
    await writer.write(() => db.prepare("INSERT INTO t VALUES (3)").run());
    assert.ok(performance.now() - started < 500, "the write did not wait for the dead worker");
    assert.equal((db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 1);
    await writer.close();
    db.close();
  });
});
