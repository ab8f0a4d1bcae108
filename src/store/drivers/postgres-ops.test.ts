/**
 * Operational behaviour of the Postgres driver against the real server: migrations raced by
 * several instances, start-up errors that name their cause, and `unavailable` (never a hang)
 * when the database drops or stops answering.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createStore } from "../create-store.ts";
import { readHead } from "../decorators/delegating-store.ts";
import type { HoldfastError } from "../errors.ts";
import { createPostgresDriver } from "./postgres.ts";
import { SCHEMA_VERSION } from "./postgres-schema.ts";
import {
  adminQuery,
  closedPort,
  dropSchema,
  schemaUrl,
  startProxy,
  TEST_POSTGRES_URL,
  uniqueSchema,
} from "./postgres-test-support.ts";

const schemas: string[] = [];
function freshSchema(): string {
  const schema = uniqueSchema("hf_ops");
  schemas.push(schema);
  return schema;
}
after(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

function withHost(host: string, port: number, db = "test", user = "postgres"): string {
  return `postgres://${user}@${host}:${port}/${db}`;
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: HoldfastError) => {
    assert.equal(error.code, code, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

describe("postgres driver: migrations", () => {
  it("4 instances booting together on a fresh schema migrate exactly once and all work", async () => {
    const schema = freshSchema();
    const drivers = await Promise.all(
      Array.from({ length: 4 }, () =>
        createPostgresDriver({ connectionString: schemaUrl(schema), poolSize: 2 }),
      ),
    );
    try {
      assert.deepEqual(
        drivers.map((d) => d.migration.to),
        [SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION],
      );
      assert.equal(drivers.filter((d) => d.migration.applied > 0).length, 1);
      assert.equal(
        drivers.reduce((n, d) => n + d.migration.applied, 0),
        SCHEMA_VERSION,
      );
      const { rows } = await adminQuery(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
      assert.deepEqual(
        rows.map((r) => r.version),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
      const now = Date.now();
      for (const [n, driver] of drivers.entries()) {
        const id = `conv_${String(n).padStart(32, "0")}`;
        await driver.createSession(
          {
            id,
            tenant: "t",
            owner: null,
            metadata: {},
            labels: [],
            state: {},
            version: 1,
            itemCount: 0,
            lastSeq: 0,
            tokenCount: 0,
            bytes: 0,
            createdAt: now,
            updatedAt: now,
            lastActiveAt: now,
            idleTtlMs: null,
            expiresAt: null,
            status: "active",
            pinned: false,
            forkParent: null,
          },
          [],
        );
        // Every instance sees every other instance's writes.
        assert.equal((await drivers[(n + 1) % 4]!.getSession("t", id, now))?.id, id);
      }
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
    }
  });

  it("an instance that times out waiting for another's migration says so, not 'host unreachable'", async () => {
    const schema = freshSchema();
    // The first instance takes the migration lock, then waits on a schema another session is
    // still creating (uncommitted): it holds the lock for as long as that session wants.
    const pg = (await import("pg")).default;
    const blocker = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await blocker.connect();
    let first: Promise<unknown> | undefined;
    try {
      await blocker.query("BEGIN");
      await blocker.query(`CREATE SCHEMA "${schema}"`);
      first = createStore(schemaUrl(schema));
      const holding = async (): Promise<boolean> =>
        (
          await adminQuery(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
            [`CREATE SCHEMA IF NOT EXISTS "${schema}"%`],
          )
        ).rowCount === 1;
      for (let i = 0; i < 100 && !(await holding()); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(await holding(), "the first instance never got to hold the migration lock");
      await rejectsWith(
        createStore(`${schemaUrl(schema)}&statement_timeout_ms=300`),
        "unavailable",
        new RegExp(
          `^Postgres schema '${schema}' at \\S+: waited for another instance's schema migration \\(it holds the migration lock\\) until the statement timeout \\(300 ms\\).*Start again once that migration has finished; if migrations take longer, raise statement_timeout_ms`,
        ),
      );
    } finally {
      await blocker.query("ROLLBACK");
      await blocker.end();
    }
    // The lock holder goes on once the schema is free, and the waiter's next start finds it done.
    await ((await first) as { close(): Promise<void> }).close();
    const again = await createStore(`${schemaUrl(schema)}&statement_timeout_ms=300`);
    await again.close();
  });

  it("a migration step stopped by the statement timeout says so, not 'host unreachable'", async () => {
    const schema = freshSchema();
    const pg = (await import("pg")).default;
    const blocker = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await blocker.connect();
    try {
      // Another session is creating the schema (uncommitted): the migration's CREATE SCHEMA waits.
      await blocker.query("BEGIN");
      await blocker.query(`CREATE SCHEMA "${schema}"`);
      await rejectsWith(
        createStore(`${schemaUrl(schema)}&statement_timeout_ms=300`),
        "unavailable",
        /^Postgres schema migration at \S+ was stopped by a time limit \(300 ms\): canceling statement due to statement timeout\. The server is reachable.*Raise statement_timeout_ms/,
      );
    } finally {
      await blocker.query("ROLLBACK");
      await blocker.end();
    }
  });

  it("a second start finds nothing to do; a schema newer than the code is refused", async () => {
    const schema = freshSchema();
    const first = await createPostgresDriver({ connectionString: schemaUrl(schema) });
    await first.close();
    const second = await createPostgresDriver({ connectionString: schemaUrl(schema) });
    assert.deepEqual(second.migration, { from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: 0 });
    await second.close();
    await adminQuery(`INSERT INTO "${schema}".schema_version (version) VALUES ($1)`, [SCHEMA_VERSION + 1]);
    await rejectsWith(createStore(schemaUrl(schema)), "internal", /newer than this Holdfast/);
  });

  it("the append functions use generic plans; ANALYZE skips the content and hash columns", async () => {
    // A migration that replaces an append function (CREATE OR REPLACE) drops its SET clause:
    // every call would then re-plan every statement again (docs/store-postgres.md).
    const schema = freshSchema();
    const driver = await createPostgresDriver({ connectionString: schemaUrl(schema) });
    await driver.close();
    const { rows: fns } = await adminQuery(
      `SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 AND p.proname IN ('append_items', 'append_batch') ORDER BY p.proname`,
      [schema],
    );
    assert.deepEqual(
      fns.map((r) => [r.proname, r.proconfig]),
      [
        ["append_batch", ["plan_cache_mode=force_generic_plan"]],
        ["append_items", ["plan_cache_mode=force_generic_plan"]],
      ],
    );
    const { rows: stats } = await adminQuery(
      `SELECT c.relname, a.attname, a.attstattarget FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND (c.relname, a.attname) IN (('items', 'content'), ('operations', 'hash'))
       ORDER BY c.relname`,
      [schema],
    );
    assert.deepEqual(
      stats.map((r) => [r.relname, r.attname, r.attstattarget]),
      [
        ["items", "content", 0],
        ["operations", "hash", 0],
      ],
    );
  });
});

describe("postgres driver: start-up errors name the problem", () => {
  it("nothing listening on the port: unavailable, host unreachable", async () => {
    const port = await closedPort();
    await rejectsWith(
      createStore(withHost("127.0.0.1", port)),
      "unavailable",
      /host unreachable.*ECONNREFUSED/s,
    );
  });

  it("a server that accepts but never answers: unavailable after the connect timeout", async () => {
    const proxy = await startProxy();
    proxy.freeze();
    try {
      await rejectsWith(
        createPostgresDriver({ connectionString: withHost("127.0.0.1", proxy.port), connectTimeoutMs: 300 }),
        "unavailable",
        /host unreachable/,
      );
    } finally {
      await proxy.close();
    }
  });

  it("a missing database: invalid_argument, database missing", async () => {
    const url = new URL(TEST_POSTGRES_URL);
    await rejectsWith(
      createStore(withHost(url.hostname, Number(url.port || 5432), "hf_no_such_database")),
      "invalid_argument",
      /database missing.*hf_no_such_database/s,
    );
  });

  it("an unknown role: invalid_argument, authentication failed", async () => {
    const url = new URL(TEST_POSTGRES_URL);
    await rejectsWith(
      createStore(withHost(url.hostname, Number(url.port || 5432), "test", "hf_no_such_role")),
      "invalid_argument",
      /authentication failed/,
    );
  });

  it("bad options name the option", async () => {
    await rejectsWith(createStore(`${TEST_POSTGRES_URL}?schema=Bad-Name`), "invalid_argument", /'schema'/);
    await rejectsWith(createStore(`${TEST_POSTGRES_URL}?pool_size=0`), "invalid_argument", /'poolSize'/);
    await rejectsWith(
      createPostgresDriver({ connectionString: "mysql://x@y/z" }),
      "invalid_argument",
      /'connectionString'/,
    );
  });
});

describe("postgres driver: unavailability at run time", () => {
  it("backends terminated under it: the next call succeeds or says unavailable, then it recovers", async () => {
    const schema = freshSchema();
    const applicationName = `hf_kill_${schema.slice(-8)}`;
    const idleErrors: Error[] = [];
    const store = await createStore(`${schemaUrl(schema)}&application_name=${applicationName}`);
    // The driver built by createStore gets no onIdleError; open a second one that counts them.
    const driver = await createPostgresDriver({
      connectionString: schemaUrl(schema),
      applicationName,
      onIdleError: (error) => idleErrors.push(error),
    });
    try {
      const t = "tenant-kill";
      const s = await store.create(t);
      await Promise.all([store.get(t, s.id), store.get(t, s.id), driver.getSession(t, s.id, Date.now())]);
      const { rows } = await adminQuery(
        "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1",
        [applicationName],
      );
      assert.ok(rows[0].n >= 2, "expected pooled connections to terminate");
      // The idle connection's failure reaches the pool's error handler instead of crashing us.
      for (let i = 0; i < 100 && idleErrors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(idleErrors.length > 0, "the idle connection's error was not reported");
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await store.append(t, s.id, [{ content: { type: "message", role: "user", content: "after" } }], {
            operationId: "after-kill",
          });
          break;
        } catch (error) {
          assert.equal((error as HoldfastError).code, "unavailable", String(error));
        }
      }
      assert.equal((await store.get(t, s.id)).itemCount, 1);
      assert.equal((await driver.getSession(t, s.id, Date.now()))?.itemCount, 1);
    } finally {
      await store.close();
      await driver.close();
    }
  });

  it("a network that goes silent: calls fail with unavailable within the timeout, then reconnect", async () => {
    const schema = freshSchema();
    await (await createPostgresDriver({ connectionString: schemaUrl(schema) })).close();
    const proxy = await startProxy();
    const store = await createStore(
      `postgres://postgres@127.0.0.1:${proxy.port}/test?schema=${schema}&query_timeout_ms=500&connect_timeout_ms=500`,
    );
    try {
      const s = await store.create("tenant-silent");
      proxy.freeze();
      await rejectsWith(store.get("tenant-silent", s.id), "unavailable", /unavailable/);
      await rejectsWith(store.touch("tenant-silent", s.id), "unavailable", /unavailable/);
      proxy.thaw();
      assert.equal((await store.get("tenant-silent", s.id)).id, s.id);
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});

describe("postgres driver: connections dropped mid-statement", () => {
  it("a connection cut while a statement runs: unavailable (no crash), then the pool recovers", async () => {
    const schema = freshSchema();
    await (await createPostgresDriver({ connectionString: schemaUrl(schema) })).close();
    const proxy = await startProxy();
    const store = await createStore(`postgres://postgres@127.0.0.1:${proxy.port}/test?schema=${schema}`);
    const t = "tenant-cut";
    const [one, two] = [await store.create(t), await store.create(t)];
    // Both sessions' rows are locked elsewhere, so the append and the delete (a transaction) are
    // still running on their connections when the network drops them.
    const locker = await import("pg").then(
      (pg) => new pg.default.Client({ connectionString: TEST_POSTGRES_URL }),
    );
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM "${schema}".sessions WHERE id = ANY($1) FOR UPDATE`, [
        [one.id, two.id],
      ]);
      const append = store.append(t, one.id, [{ content: { type: "message", role: "user", content: "x" } }], {
        operationId: "cut-append",
      });
      const removal = store.delete(t, two.id);
      await new Promise((resolve) => setTimeout(resolve, 300));
      proxy.cut();
      await Promise.all([
        rejectsWith(append, "unavailable", /unavailable/),
        rejectsWith(removal, "unavailable", /unavailable/),
      ]);
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
    }
    try {
      // The server may still have committed the cut statements once the locks were gone: the
      // outcome is unknown to the caller, and a retry with the operation id settles it.
      const retried = await store.append(
        t,
        one.id,
        [{ content: { type: "message", role: "user", content: "x" } }],
        { operationId: "cut-append" },
      );
      assert.equal(retried.lastSeq, 1);
      assert.equal((await store.get(t, one.id)).itemCount, 1);
      await store.delete(t, two.id).catch((error: HoldfastError) => assert.equal(error.code, "not_found"));
      await assert.rejects(store.get(t, two.id), { code: "not_found" });
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});

describe("postgres driver: numbers beyond integer columns", () => {
  it("a huge seq or expected version behaves like any other mismatch, not an internal error", async () => {
    const schema = freshSchema();
    // The postgresql:// spelling reaches the same driver.
    const store = await createStore(schemaUrl(schema).replace(/^postgres:/, "postgresql:"));
    try {
      assert.equal(store.driverName, "postgres");
      const t = "tenant-big";
      const s = await store.create(t, {
        items: [{ content: { type: "message", role: "user", content: "x" } }],
      });
      const huge = 2 ** 40;
      assert.deepEqual(await store.readItems(t, s.id, { afterSeq: huge }), []);
      assert.equal((await store.readItems(t, s.id, { beforeSeq: huge })).length, 1);
      await rejectsWith(
        store.append(t, s.id, [{ content: { type: "message", role: "user", content: "y" } }], {
          expectedVersion: huge,
        }),
        "conflict",
        /expected/,
      );
      await rejectsWith(
        store.update(t, s.id, { pinned: true }, { expectedVersion: huge }),
        "conflict",
        /expected/,
      );
    } finally {
      await store.close();
    }
  });
});

describe("postgres driver: session head", () => {
  it("answers a session's head without reading its JSON columns, not_found like get", async () => {
    const schema = freshSchema();
    let now = Date.UTC(2026, 0, 1);
    const store = await createStore({ url: schemaUrl(schema), clock: () => now });
    try {
      const item = { content: { type: "message", role: "user", content: "hi" }, tokens: 5 };
      const s = await store.create("t", { idleTtlMs: 60_000, items: [item, item] });
      // State that is not JSON: get cannot decode the session; its head needs no JSON column.
      await adminQuery(`UPDATE "${schema}".sessions SET state = '{not json' WHERE id = $1`, [s.id]);
      await assert.rejects(store.get("t", s.id));
      assert.deepEqual(await readHead(store, "t", s.id), {
        id: s.id,
        version: s.version,
        createdAt: s.createdAt,
        itemCount: 2,
        lastSeq: 2,
        tokenCount: 10,
        status: "active",
      });
      await rejectsWith(readHead(store, "other", s.id), "not_found", /No session with id/);
      now += 60_000;
      await rejectsWith(readHead(store, "t", s.id), "not_found", /No session with id/);
    } finally {
      await store.close();
    }
  });
});
