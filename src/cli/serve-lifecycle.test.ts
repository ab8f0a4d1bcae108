/**
 * `holdfast serve` runs the sweeper on a tiered store (redis > postgres) and archives into the
 * configured table backend; a read through the API restores the archived conversation. On a
 * plain Redis store it warns at start-up when Redis would expire sessions before they are archived.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { zstdAvailable } from "../lifecycle/archive-format.ts";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { startServe } from "./cli-helpers.ts";

const REDIS = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;
const schema = uniqueSchema();
const dir = mkdtempSync(join(tmpdir(), "holdfast-serve-lifecycle-"));

after(async () => {
  const admin = new Redis(REDIS);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

function archivedRows(path: string): { session_id: string; compression: string }[] {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA busy_timeout = 2000");
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'holdfast_archives'").get();
    if (!exists) return [];
    const rows = db.prepare("SELECT session_id, compression FROM holdfast_archives").all();
    return rows.map((r) => ({ session_id: String(r.session_id), compression: String(r.compression) }));
  } finally {
    db.close();
  }
}

describe("holdfast serve with lifecycle", () => {
  it("sweeps a tiered redis > postgres store into a SQLite archive table and restores on read", async () => {
    const redisUrl = `${REDIS}?prefix=${prefix}`;
    const store = await createStore({ url: redisUrl, archive: schemaUrl(schema) });
    const s = await store.create("default", {
      idleTtlMs: 300,
      items: [{ content: { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] } }],
    });
    await store.close();
    const archives = join(dir, "archives.db");
    const config = join(dir, "holdfast.yaml");
    writeFileSync(
      config,
      [
        "lifecycle:",
        "  archive:",
        "    backend: sqlite",
        `    url: ${JSON.stringify(`sqlite:${archives}`)}`,
        "    compression: zstd",
        `  action_log: ${JSON.stringify(join(dir, "actions.jsonl"))}`,
        "  sweeper: { interval: 200ms }",
        "",
      ].join("\n"),
    );
    const server = await startServe([
      "--port",
      "0",
      "--store",
      redisUrl,
      "--archive",
      schemaUrl(schema),
      "--config",
      config,
    ]);
    try {
      let rows = archivedRows(archives);
      for (let i = 0; i < 100 && rows.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        rows = archivedRows(archives);
      }
      // Node 22.13–22.14 has no zstd: serve falls back to gzip.
      assert.deepEqual(rows, [{ session_id: s.id, compression: zstdAvailable() ? "zstd" : "gzip" }]);
      const res = await fetch(`${server.url}/v1/conversations/${s.id}/items`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { data: unknown[] };
      assert.equal(body.data.length, 1, "restored from the archive table");
      assert.deepEqual(archivedRows(archives), [], "the archive is removed once restored");
    } finally {
      server.child.kill("SIGTERM");
    }
    const result = await server.exited;
    assert.equal(result.code, 0, result.stderr);
    // On Node < 22.15 the zstd-to-gzip notice is a warning too.
    assert.doesNotMatch(
      result.stderr,
      /warning: .*removes expired sessions itself/,
      "a tiered store has no native-expiry risk",
    );
  });

  it("warns on a plain Redis store whose native expiry would beat the sweeper", async () => {
    const server = await startServe(["--port", "0", "--store", `${REDIS}?prefix=${prefix}w`]);
    // Answering a request means start-up (notices, signal handlers) is complete.
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    server.child.kill("SIGTERM");
    const result = await server.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: .*expiry_grace_ms=600000/);
  });
});
