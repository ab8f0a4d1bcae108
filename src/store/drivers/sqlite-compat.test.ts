/**
 * The Node 22.13 paths of sqlite-compat.ts, run on the Node of CI: the handles are wrapped so the
 * members Node 22.13 lacks (`location`, `isTransaction`, `isOpen`, `setReturnArrays`) are absent.
 */
import assert from "node:assert/strict";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { after, describe, test } from "node:test";
import {
  closeDatabase,
  databaseLocation,
  forceSqliteFallbacks,
  inTransaction,
  isDatabaseOpen,
  returningArrays,
  rollbackIfOpen,
  type WalState,
  walStateReader,
} from "./sqlite-compat.ts";
import { openSqliteFile } from "./sqlite-open.ts";

const dir = realpathSync(mkdtempSync(join(tmpdir(), "holdfast-sqlite-compat-")));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `target` as Node 22.13 shows it: without `missing`, every other member working. */
function without<T extends object>(target: T, missing: readonly string[]): T {
  return new Proxy(target, {
    get(t, key) {
      if (typeof key === "string" && missing.includes(key)) return undefined;
      const value = Reflect.get(t, key, t);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

const DB_MEMBERS = ["location", "isTransaction", "isOpen"];

/**
 * Whether this Node has the native members the fallbacks are compared with (on Node 22.13 they
 * are missing and the helpers already run their fallbacks: the comparisons are skipped there).
 */
const NATIVE = typeof (new DatabaseSync(":memory:") as { isOpen?: unknown }).isOpen === "boolean";

describe("sqlite-compat on a node:sqlite without the 22.16 members", () => {
  test("location: the main file's absolute path, null in memory", () => {
    const path = join(dir, "location.db");
    const db = new DatabaseSync(path);
    assert.equal(databaseLocation(without(db, DB_MEMBERS)), path);
    if (NATIVE) assert.equal(databaseLocation(without(db, DB_MEMBERS)), db.location());
    db.close();
    const memory = new DatabaseSync(":memory:");
    assert.equal(databaseLocation(without(memory, DB_MEMBERS)), null);
    memory.close();
  });

  test("inTransaction follows BEGIN, COMMIT and ROLLBACK and leaves no transaction behind", () => {
    const native = new DatabaseSync(join(dir, "tx.db"));
    const db = without(native, DB_MEMBERS);
    db.exec("CREATE TABLE t (a)");
    assert.equal(inTransaction(db), false);
    if (NATIVE) assert.equal(native.isTransaction, false, "the probe committed its own BEGIN");
    db.exec("BEGIN IMMEDIATE");
    db.exec("INSERT INTO t VALUES (1)");
    assert.equal(inTransaction(db), true);
    rollbackIfOpen(db);
    if (NATIVE) assert.equal(native.isTransaction, false);
    assert.equal((db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 0);
    rollbackIfOpen(db); // nothing open: no "no transaction is active" error
    db.exec("BEGIN");
    db.exec("INSERT INTO t VALUES (2)");
    db.exec("COMMIT");
    assert.equal(inTransaction(db), false);
    native.close();
  });

  test("isOpen: closed through closeDatabase, and a second close does nothing", () => {
    const native = new DatabaseSync(":memory:");
    const db = without(native, DB_MEMBERS);
    assert.equal(isDatabaseOpen(db), true);
    closeDatabase(db);
    if (NATIVE) assert.equal(native.isOpen, false);
    assert.throws(() => native.exec("SELECT 1"), /not open/, "closed for real");
    assert.equal(isDatabaseOpen(db), false);
    closeDatabase(db);
  });

  test("returningArrays maps object rows to columns in SELECT order", () => {
    const db = new DatabaseSync(":memory:");
    db.exec(
      "CREATE TABLE t (b TEXT, a INTEGER, c BLOB); INSERT INTO t VALUES ('x', 1, NULL), ('y', 2, x'01')",
    );
    const sql = "SELECT c, a, b FROM t WHERE a >= ? ORDER BY a";
    const stmt = returningArrays(without(db.prepare(sql), ["setReturnArrays"]) as StatementSync);
    if (NATIVE) {
      const nativeArrays = db.prepare(sql);
      nativeArrays.setReturnArrays(true);
      assert.deepEqual(stmt.all(1), nativeArrays.all(1));
    }
    assert.deepEqual(stmt.all(1), [
      [null, 1, "x"],
      [new Uint8Array([1]), 2, "y"],
    ]);
    assert.deepEqual(stmt.get(2), [new Uint8Array([1]), 2, "y"]);
    assert.equal(stmt.get(3), undefined);
    const named = returningArrays(
      without(db.prepare("SELECT b FROM t WHERE a = $a"), ["setReturnArrays"]) as StatementSync,
    );
    assert.deepEqual(named.get({ a: 1 }), ["x"]);
    db.close();
  });

  test("openSqliteFile sets the busy timeout with the PRAGMA (22.13 ignores the open option)", () => {
    const db = openSqliteFile(join(dir, "busy.db"), 1234);
    assert.equal((db.prepare("PRAGMA busy_timeout").get() as { timeout: number }).timeout, 1234);
    db.close();
  });

  test("walStateReader reads the WAL state from -shm, as NOOP reports it, without copying", () => {
    const path = join(dir, "wal-state.db");
    const writer = new DatabaseSync(path);
    writer.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v TEXT)");
    const reader = new DatabaseSync(path);
    const native = walStateReader(reader, path);
    forceSqliteFallbacks(true);
    const fallback = walStateReader(reader, path);
    forceSqliteFallbacks(false);
    const noop = reader.prepare("SELECT sqlite_version() AS v").get() as { v: string };
    // On an SQLite without NOOP (Node 22.13) both readers take the -shm path.
    const same = (expected: WalState) => {
      assert.deepEqual(fallback(), expected);
      assert.deepEqual(native(), expected, `SQLite ${noop.v}`);
    };
    const insert = writer.prepare("INSERT INTO t VALUES (?)");
    for (let i = 0; i < 20; i++) insert.run("x".repeat(5000));
    const written = fallback();
    assert.ok(written.log > 20, `frames in the WAL: ${written.log}`);
    same({ log: written.log, checkpointed: 0 }); // reading twice copied nothing
    const passive = writer.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as {
      log: number;
      checkpointed: number;
    };
    assert.deepEqual(passive.checkpointed, written.log);
    same({ log: written.log, checkpointed: written.log });
    insert.run("y"); // a write after a complete checkpoint restarts the WAL
    const restarted = fallback();
    assert.ok(restarted.log < 5 && restarted.checkpointed === 0, JSON.stringify(restarted));
    same(restarted);
    reader.close();
    writer.close();
    // The last connection's close checkpoints and removes -wal and -shm: an empty state.
    assert.deepEqual(fallback(), { log: 0, checkpointed: 0 });
  });
});
