/**
 * Several processes appending to one SQLite file at once: every acknowledged append is present
 * exactly once, seq stays dense, races surface as `conflict`, and SQLITE_BUSY never escapes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it, type TestContext } from "node:test";
import { runChild } from "../../../test/sqlite/run-child.ts";
import { createSessionStore } from "../core.ts";
import type { SessionStore } from "../types.ts";
import { createSqliteDriver } from "./sqlite.ts";
import { SCHEMA_VERSION } from "./sqlite-schema.ts";

const CHILD = new URL("../../../test/sqlite/appender.ts", import.meta.url).pathname;
const OPEN_CHILD = new URL("../../../test/sqlite/open-child.ts", import.meta.url).pathname;
const PROCESSES = 4;
const APPENDS = 120;
const TENANT = "mp";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-mp-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Ack {
  op: string;
  session: string;
  firstSeq: number;
  lastSeq: number;
  version: number;
}

function open(path: string): SessionStore {
  return createSessionStore(createSqliteDriver({ path }));
}

async function race(mode: "plain" | "versioned", t: TestContext): Promise<void> {
  const path = join(dir, `${mode}.db`);
  const setup = open(path);
  const sessions = [(await setup.create(TENANT)).id, (await setup.create(TENANT)).id];
  await setup.close();

  const outputs = await Promise.all(
    Array.from({ length: PROCESSES }, (_, w) =>
      runChild(CHILD, [path, String(w), String(APPENDS), mode, sessions.join(",")]),
    ),
  );
  const lines = outputs.flat();
  assert.deepEqual(
    lines.filter((l) => "error" in l),
    [],
  );
  assert.deepEqual(
    lines.filter((l) => "stale" in l).map((l) => l.stale),
    Array.from({ length: PROCESSES }, () => "conflict"),
    "a stale expectedVersion is a conflict in every process",
  );
  const acks = lines.filter((l) => "ack" in l).map((l) => l.ack as Ack);
  assert.equal(acks.length, PROCESSES * APPENDS);
  assert.equal(new Set(acks.map((a) => a.op)).size, acks.length, "each operation acknowledged once");

  const store = open(path);
  try {
    let total = 0;
    for (const id of sessions) {
      const items = await store.readItems(TENANT, id, { limit: 10_000 });
      total += items.length;
      assert.deepEqual(
        items.map((i) => i.seq),
        Array.from({ length: items.length }, (_, i) => i + 1),
        "seq is dense",
      );
      const texts = items.map((i) => JSON.stringify(i.content));
      for (const ack of acks.filter((a) => a.session === id)) {
        assert.ok(texts[ack.firstSeq - 1]?.includes(`${ack.op} q`), `${ack.op} at seq ${ack.firstSeq}`);
        assert.ok(texts[ack.lastSeq - 1]?.includes(`${ack.op} a`), `${ack.op} at seq ${ack.lastSeq}`);
        assert.equal(texts.filter((t) => t.includes(`"${ack.op} q"`)).length, 1, `${ack.op} stored once`);
      }
      const head = await store.get(TENANT, id);
      const appends = acks.filter((a) => a.session === id).length;
      assert.equal(head.version, 1 + appends, "one version per append");
      assert.equal(new Set(acks.filter((a) => a.session === id).map((a) => a.version)).size, appends);
    }
    assert.equal(total, 2 * acks.length, "nothing but the acknowledged appends");
    // A retry from another process replays the first result instead of writing again.
    const first = acks[0]!;
    const replay = await store.append(
      TENANT,
      first.session,
      [
        {
          content: {
            type: "message",
            role: "user",
            content: [{ type: "input_text", text: `${first.op} q` }],
          },
        },
        {
          content: {
            type: "message",
            role: "assistant",
            content: [{ type: "output_text", text: `${first.op} a` }],
          },
        },
      ],
      { operationId: first.op },
    );
    assert.equal(replay.replayed, true);
    assert.equal(replay.firstSeq, first.firstSeq);
  } finally {
    await store.close();
  }
  if (mode === "versioned") {
    const conflicts = lines
      .filter((l) => "done" in l)
      .reduce((n, l) => n + (l.done as { conflicts: number }).conflicts, 0);
    // Not asserted > 0 (scheduling decides), but reported: the races did happen in practice.
    t.diagnostic(`versioned race: ${conflicts} conflicts surfaced and retried`);
  }
}

describe("sqlite: several processes on one file", () => {
  it(`${PROCESSES} processes creating and migrating a new file at once`, async () => {
    const path = join(dir, "fresh", "open.db");
    const outputs = await Promise.all(Array.from({ length: PROCESSES }, () => runChild(OPEN_CHILD, [path])));
    const ids = outputs.flat().map((l) => l.created as string);
    assert.equal(new Set(ids).size, PROCESSES);
    const store = open(path);
    try {
      const listed = await store.list("open", { limit: 100 });
      assert.deepEqual(listed.data.map((s) => s.id).sort(), [...ids].sort());
    } finally {
      await store.close();
    }
    const db = new DatabaseSync(path);
    const versions = db.prepare("SELECT version FROM schema_version ORDER BY version").all();
    db.close();
    assert.deepEqual(
      versions.map((r) => r.version),
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      "migrated exactly once",
    );
  });

  it(`${PROCESSES} processes appending without expectedVersion: all land once, dense seq`, async (t) => {
    await race("plain", t);
  });

  it(`${PROCESSES} processes appending with expectedVersion: races are conflicts, nothing lost`, async (t) => {
    await race("versioned", t);
  });
});
