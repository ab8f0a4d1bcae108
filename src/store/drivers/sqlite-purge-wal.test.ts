/**
 * The purge's WAL budget (sqlite-purge-wal.ts): below its budget it leaves the WAL alone; once
 * spent it copies the whole WAL, so the next write starts the WAL over from its first frame
 * instead of growing the file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { walStateReader } from "./sqlite-compat.ts";
import { WalBudget } from "./sqlite-purge-wal.ts";
import { WriteGate } from "./sqlite-write-gate.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-purge-wal-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A WAL database with a writer connection and the purge's own connection, checkpoints off. */
function open(name: string) {
  const path = join(dir, name);
  const writer = new DatabaseSync(path);
  writer.exec("PRAGMA journal_mode = WAL");
  writer.exec("PRAGMA wal_autocheckpoint = 0");
  writer.exec("CREATE TABLE t (x TEXT)");
  const purge = new DatabaseSync(path);
  purge.exec("PRAGMA wal_autocheckpoint = 0");
  const insert = writer.prepare("INSERT INTO t VALUES (?)");
  const write = (rows: number) => {
    writer.exec("BEGIN");
    for (let i = 0; i < rows; i++) insert.run("x".repeat(1000));
    writer.exec("COMMIT");
  };
  const wal = walStateReader(purge, path); // copies nothing, whatever the SQLite version
  const close = () => {
    purge.close();
    writer.close();
  };
  return { purge, write, wal, close };
}

describe("sqlite purge WAL budget", () => {
  it("leaves the WAL alone until its budget is spent", () => {
    const db = open("below.db");
    db.write(200);
    const before = db.wal();
    const budget = new WalBudget(db.purge, new WriteGate(), 1_000_000);
    budget.spent(100, 100_000); // 2 × (100,000 + 100 × 200) = 240,000 bytes: under 1,000,000
    assert.deepEqual(db.wal(), before, "nothing copied");
    assert.ok(before.checkpointed < before.log);
    db.close();
  });

  it("copies the whole WAL once the budget is spent, and the next write restarts it", () => {
    const db = open("spent.db");
    db.write(200);
    const budget = new WalBudget(db.purge, new WriteGate(), 1_000_000);
    budget.spent(100, 300_000); // 2 × (300,000 + 20,000) = 640,000
    const written = db.wal().log;
    budget.spent(100, 300_000); // 1,280,000 in all: spent
    const copied = db.wal();
    assert.equal(copied.checkpointed, copied.log, "every frame copied");
    assert.ok(copied.log >= written);
    db.write(1);
    assert.ok(db.wal().log < 5, `the next write started the WAL over (log ${db.wal().log} frames)`);
    // The count starts again after a checkpoint.
    db.write(200);
    budget.spent(100, 300_000);
    assert.ok(db.wal().checkpointed < db.wal().log, "not spent again yet");
    db.close();
  });

  it("holds no write-gate lock after a checkpoint", () => {
    const db = open("gate.db");
    db.write(50);
    const gate = new WriteGate();
    new WalBudget(db.purge, gate, 1).checkpoint();
    assert.ok(gate.tryEnter(), "the live writer can take the gate");
    gate.leave();
    db.close();
  });
});
