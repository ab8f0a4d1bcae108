/**
 * Durability and robustness of the SQLite file: kill -9 after acknowledgements, a lock held by
 * another connection, schema versions, index use, and close() flushing queued writes.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startChild } from "../../../test/sqlite/run-child.ts";
import { createSessionStore } from "../core.ts";
import type { SessionStore } from "../types.ts";
import { createSqliteDriver, type SqliteDriverOptions } from "./sqlite.ts";
import { listSql, SQL } from "./sqlite-rows.ts";
import { SCHEMA_VERSION } from "./sqlite-schema.ts";

const CRASH_CHILD = new URL("../../../test/sqlite/crash-child.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-dur-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function open(path: string, options: Partial<SqliteDriverOptions> = {}): SessionStore {
  return createSessionStore(createSqliteDriver({ path, ...options }));
}

const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });

describe("sqlite durability", () => {
  it("keeps every acknowledged append after the writer is killed with SIGKILL", async () => {
    const path = join(dir, "crash.db");
    const setup = open(path);
    const session = (await setup.create("crash")).id;
    await setup.close();

    const acks: { text: string; seq: number }[] = [];
    const child = startChild(CRASH_CHILD, [path, session], (line) => {
      acks.push(line.ack as { text: string; seq: number });
      if (acks.length === 300) child.kill("SIGKILL");
    });
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    assert.equal(signal, "SIGKILL", `child ended by ${signal ?? `exit ${code}`}, not by the kill`);
    assert.ok(acks.length >= 300);

    const store = open(path);
    try {
      const items = await store.readItems("crash", session, { limit: 10_000 });
      assert.deepEqual(
        items.map((i) => i.seq),
        Array.from({ length: items.length }, (_, i) => i + 1),
      );
      const bySeq = new Map(items.map((i) => [i.seq, i.content.content]));
      for (const ack of acks) assert.equal(bySeq.get(ack.seq), ack.text, `acknowledged ${ack.text} survived`);
      assert.equal((await store.get("crash", session)).itemCount, items.length);
    } finally {
      await store.close();
    }
  });

  it("waits out a lock held by another connection, then fails with unavailable, never crashes", async () => {
    const path = join(dir, "busy.db");
    const store = open(path, { busyDeadlineMs: 150 });
    // The default deadline (5 s) for the append that must still be retrying when the lock goes:
    // with the 150 ms store, an event loop stalled for ~110 ms on a loaded machine gave up first.
    const patient = open(path);
    const other = new DatabaseSync(path);
    try {
      const s = await store.create("t");
      other.exec("BEGIN IMMEDIATE");
      await assert.rejects(store.append("t", s.id, [say("blocked")]), { code: "unavailable" });
      // WAL readers are not blocked by a writer.
      assert.equal((await store.get("t", s.id)).itemCount, 0);
      // Released while the writer is still retrying: the append lands. Released here, not from a
      // timer: a timer could outlive this test and use `other` after the finally closed it.
      const pending = patient.append("t", s.id, [say("later")]);
      await sleep(40);
      other.exec("COMMIT");
      assert.equal((await pending).firstSeq, 1);
      // The store that gave up is not wedged.
      assert.equal((await store.append("t", s.id, [say("after")])).firstSeq, 2);
    } finally {
      if (other.isTransaction) other.exec("ROLLBACK");
      other.close();
      await Promise.all([store.close(), patient.close()]);
    }
  });

  it("rolls back only the failing write of a group commit, and reports SQLite failures as unavailable", async () => {
    const path = join(dir, "savepoints.db");
    const store = open(path);
    const a = await store.create("t");
    const b = await store.create("t");
    // Simulate a storage failure that hits only session a's inserts.
    const other = new DatabaseSync(path);
    other.exec(
      "CREATE TRIGGER fail_a BEFORE INSERT ON items WHEN NEW.session_rid = " +
        `(SELECT rid FROM sessions WHERE id = '${a.id}') BEGIN SELECT RAISE(ABORT, 'simulated failure'); END`,
    );
    other.close();
    // Queued in the same macrotask: one transaction, three savepoints.
    const results = await Promise.allSettled([
      store.append("t", b.id, [say("b1")]),
      store.append("t", a.id, [say("a1"), say("a2")]),
      store.append("t", b.id, [say("b2")]),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    const failure = (results[1] as PromiseRejectedResult).reason as { code: string; message: string };
    assert.equal(failure.code, "unavailable");
    assert.match(failure.message, /simulated failure/);
    assert.equal((await store.get("t", a.id)).itemCount, 0);
    assert.equal((await store.get("t", a.id)).version, 1);
    assert.deepEqual(
      (await store.readItems("t", b.id)).map((i) => i.content.content),
      ["b1", "b2"],
    );
    await store.close();
  });

  it("close() commits writes still queued", async () => {
    const path = join(dir, "close.db");
    const store = open(path);
    const s = await store.create("t");
    const pending = Array.from({ length: 20 }, (_, i) => store.append("t", s.id, [say(`q${i}`)]));
    await store.close();
    assert.equal((await Promise.all(pending)).length, 20);
    await assert.rejects(store.append("t", s.id, [say("after close")]), { code: "unavailable" });
    await assert.rejects(store.get("t", s.id), { code: "unavailable" });
    const again = open(path);
    assert.equal((await again.get("t", s.id)).itemCount, 20);
    await again.close();
  });

  it("close() called again while closing waits for the same close", async () => {
    const path = join(dir, "close-twice.db");
    const store = open(path);
    const s = await store.create("t");
    // The first close waits for the queued write and the checkpointer; the second used to find
    // the handle still open, then close it a second time ("database is not open").
    const pending = store.append("t", s.id, [say("queued")]);
    const results = await Promise.allSettled([store.close(), store.close()]);
    assert.deepEqual(
      results.map((r) => (r.status === "rejected" ? String(r.reason) : r.status)),
      ["fulfilled", "fulfilled"],
    );
    assert.equal((await pending).firstSeq, 1);
    await store.close();
  });
});

describe("sqlite schema", () => {
  it("migrates once, records the version, and reopens without migrating again", async () => {
    const path = join(dir, "schema.db");
    await open(path).close();
    await open(path).close();
    const db = new DatabaseSync(path);
    const rows = db.prepare("SELECT version FROM schema_version ORDER BY version").all();
    assert.deepEqual(
      rows.map((r) => r.version),
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    assert.equal((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    db.close();
  });

  it("upgrades a version-1 file to the (id, session_rid) item index, keeping lookups and uniqueness", async () => {
    const path = join(dir, "v1.db");
    const first = open(path);
    const s = await first.create("t", { items: [{ id: "given-id", ...say("one") }, say("two")] });
    const generated = (await first.readItems("t", s.id))[1]!.id;
    await first.close();
    // Turn the file back into what version 1 wrote.
    const db = new DatabaseSync(path);
    db.exec(
      "DROP INDEX items_id_session; CREATE UNIQUE INDEX items_session_id ON items (session_rid, id); " +
        "DROP INDEX sessions_tenant_fork; ALTER TABLE sessions DROP COLUMN deleted_items; " +
        "ALTER TABLE sessions DROP COLUMN claim_holder; ALTER TABLE sessions DROP COLUMN claim_until; " +
        "DELETE FROM schema_version WHERE version > 1",
    );
    db.close();
    const store = open(path);
    assert.equal((await store.getItem("t", s.id, "given-id")).seq, 1);
    assert.equal((await store.getItem("t", s.id, generated)).seq, 2);
    await assert.rejects(store.append("t", s.id, [{ id: "given-id", ...say("again") }]), {
      code: "conflict",
    });
    const forked = await store.fork("t", s.id);
    assert.equal((await store.getItem("t", forked.id, "given-id")).seq, 1);
    await store.close();
    const check = new DatabaseSync(path);
    const indexes = check
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' ORDER BY name")
      .all()
      .map((r) => r.name);
    assert.deepEqual(indexes, ["items_id_session", "items_session_cum", "items_session_seq"]);
    // Migration 3: the forks index.
    const forks = await (async () => {
      const again = open(path);
      try {
        return (await again.list("t", { forkOf: s.id })).data.map((x) => x.id);
      } finally {
        await again.close();
      }
    })();
    assert.deepEqual(forks, [forked.id]);
    const sessionIndexes = check
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions' AND name LIKE 'sessions_tenant_%' ORDER BY name",
      )
      .all()
      .map((r) => r.name);
    assert.deepEqual(sessionIndexes, [
      "sessions_tenant_created",
      "sessions_tenant_fork",
      "sessions_tenant_id",
      "sessions_tenant_owner",
      "sessions_tenant_status",
    ]);
    assert.equal(
      (check.prepare("SELECT max(version) AS v FROM schema_version").get() as { v: number }).v,
      SCHEMA_VERSION,
    );
    check.close();
  });

  it("refuses a file written by a newer schema, saying what to do", () => {
    const path = join(dir, "newer.db");
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    db.exec(`INSERT INTO schema_version VALUES (${SCHEMA_VERSION + 5}, 0)`);
    db.close();
    assert.throws(() => createSqliteDriver({ path }), /schema version \d+.*Upgrade Holdfast/s);
  });

  it("creates parent directories and validates options", async () => {
    const path = join(dir, "a", "b", "c.db");
    await open(path).close();
    assert.throws(() => createSqliteDriver({ path, busyDeadlineMs: -1 }), /busyDeadlineMs/);
    assert.throws(() => createSqliteDriver({ path: "" }), /path/);
  });

  it("answers list and window queries from indexes, never a full scan", async () => {
    const path = join(dir, "plans.db");
    await open(path).close();
    const db = new DatabaseSync(path);
    const plan = (sql: string, params: Record<string, unknown> | unknown[]): string => {
      const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
      const rows = Array.isArray(params) ? stmt.all(...(params as never[])) : stmt.all(params as never);
      return rows.map((r) => String(r.detail)).join("\n");
    };
    const base = { order: "desc" as const, limit: 21, now: 1, sort: "created" as const };
    for (const query of [
      base,
      { ...base, owner: "o" },
      { ...base, status: "active" as const },
      { ...base, order: "asc" as const, after: { value: 1, id: "conv_x" } },
      { ...base, minBytes: 10, createdAfter: 5 },
      { ...base, forkOf: "conv_x" },
      { ...base, forkOf: "conv_x", order: "asc" as const, after: { value: 1, id: "conv_x" } },
    ]) {
      const { sql, params } = listSql(query);
      const detail = plan(sql, { ...params, tenant: "t" });
      assert.doesNotMatch(detail, /SCAN sessions\b(?! USING)/, detail);
      assert.doesNotMatch(detail, /TEMP B-TREE/, detail);
    }
    for (const [sql, params] of [
      [SQL.windowStart, [1, 100]],
      [SQL.windowItems, [1, 5]],
      [SQL.itemsAsc, [1, 0, 10, 10]],
      [SQL.itemsDesc, [1, 0, 10, 10]],
    ] as const) {
      const detail = plan(sql, [...params]);
      assert.match(detail, /SEARCH items USING/, detail);
      assert.doesNotMatch(detail, /TEMP B-TREE/, detail);
    }
    for (const sql of [SQL.itemById, SQL.itemIdExists]) {
      const detail = plan(sql, [1, "msg_x"]);
      assert.match(detail, /USING (COVERING )?INDEX items_id_session \(id=\? AND session_rid=\?\)/, detail);
    }
    db.close();
  });
});
