/**
 * Ctrl-C during a job that writes: the export's unfinished file and the import's partly written
 * session are removed, and the command exits 130 saying so, instead of dying where it stood.
 * Deterministic: the test holds a lock on the store's items table, so the job is parked on its
 * items query, and signals it once Postgres shows that query waiting.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { createStore } from "../store/create-store.ts";
import {
  adminQuery,
  dropSchema,
  schemaUrl,
  TEST_POSTGRES_URL,
  uniqueSchema,
} from "../store/drivers/postgres-test-support.ts";
import type { ItemInput } from "../store/types.ts";
import { type CliResult, runCli, spawnCli } from "./cli-helpers.ts";

/** Holds ACCESS EXCLUSIVE on `<schema>.items` until `release()`: every read or write of items waits. */
async function lockItems(schema: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  await client.query("BEGIN");
  await client.query(`LOCK TABLE "${schema}".items IN ACCESS EXCLUSIVE MODE`);
  return {
    release: async () => {
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

/**
 * Resolves once a client connection waits for a lock on a table of `schema`. Client backends only:
 * an autovacuum worker queued behind the lock (the table was just filled) is not the command, and
 * signalling on it would interrupt the command before it started its work.
 */
async function someoneWaits(schema: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const { rows } = await adminQuery(
      `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE NOT l.granted AND n.nspname = $1 AND a.backend_type = 'client backend'`,
      [schema],
    );
    if (rows.length > 0) return;
    await sleep(50);
  }
  throw new Error("the command never reached the locked table");
}

/** Runs the CLI, sends SIGINT once it waits on the lock, then releases the lock and awaits the exit. */
async function interruptWhileParked(
  args: string[],
  schema: string,
  onSignalled: () => void | Promise<void> = () => {},
): Promise<CliResult> {
  const lock = await lockItems(schema);
  const { child, output } = spawnCli(args, { timeoutMs: 60_000 });
  const closed = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    await someoneWaits(schema);
    child.kill("SIGINT");
    await onSignalled();
  } finally {
    await lock.release();
  }
  const [code, signal] = await closed;
  return { code: code ?? (signal ? -1 : null), ...output() };
}

describe("Ctrl-C during an export or an import", () => {
  let dir: string;
  let schema: string;
  let url: string;
  let sessionId: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hf-interrupt-"));
    schema = uniqueSchema("hf_cli_int");
    url = schemaUrl(schema);
    const store = await createStore(url);
    try {
      const items: ItemInput[] = [];
      for (let i = 0; i < 2500; i++)
        items.push({ content: { type: "message", role: "user", content: `m${i}` } });
      const session = await store.create("default", { items: items.slice(0, 1000) });
      await store.append("default", session.id, items.slice(1000, 2000));
      await store.append("default", session.id, items.slice(2000));
      sessionId = session.id;
    } finally {
      await store.close();
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  for (const [name, args] of [
    ["sessions export", ["sessions", "export"]],
    ["openclaw export", ["openclaw", "export", "<id>"]],
  ] as const) {
    test(`${name} --out: exit 130, and neither the file nor its temporary file stays`, async () => {
      const out = path.join(dir, `${name.replace(" ", "-")}.jsonl`);
      const argv = [...args.map((a) => (a === "<id>" ? sessionId : a)), "--store", url, "--out", out];
      const res = await interruptWhileParked(argv, schema, async () => {
        // Removed at the signal, not only once the store answers again.
        for (let i = 0; i < 100 && readdirSync(dir).some((f) => f.endsWith(".tmp")); i++) await sleep(50);
        assert.deepEqual(readdirSync(dir), [], "the temporary file is removed at once");
      });
      assert.equal(res.code, 130, res.stderr);
      assert.match(
        res.stderr,
        /^holdfast: Interrupted by SIGINT: no file was written \(--out '.*'\)\. \[interrupted\]\n$/,
      );
      assert.equal(existsSync(out), false);
      assert.deepEqual(readdirSync(dir), []);
    });
  }

  test("sessions import: exit 130, and the session it was writing is removed, not left half-imported", async () => {
    const file = path.join(dir, "one-long-session.jsonl");
    const exported = await runCli(["sessions", "export", "--store", url, "--out", file]);
    assert.equal(exported.code, 0, exported.stderr);
    const target = uniqueSchema("hf_cli_int_to");
    const targetUrl = schemaUrl(target);
    await (await createStore(targetUrl)).close();
    try {
      // Parked on its first write (the first 1,000 items); at the lock's release it writes them,
      // then stops before the next append and deletes the session.
      const res = await interruptWhileParked(
        ["sessions", "import", file, "--store", targetUrl, "--json"],
        target,
      );
      assert.equal(res.code, 130, res.stderr);
      assert.deepEqual(JSON.parse(res.stderr), {
        error: {
          code: "interrupted",
          message:
            "Interrupted by SIGINT: nothing was imported, none partly; run it again with --on-conflict skip to import the rest.",
          param: null,
        },
      });
      const { rows } = await adminQuery(`SELECT count(*)::int AS n FROM "${target}".sessions`);
      assert.equal(rows[0]?.n, 0, "no half-imported session");
    } finally {
      await dropSchema(target);
      await rm(file, { force: true });
    }
  });
});
