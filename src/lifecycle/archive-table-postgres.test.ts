/**
 * The `postgres` archive backend's start-up migration when its connection drops: a typed
 * `unavailable` naming the archive database, not an unheard 'error' event that crashed the process.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import {
  dropSchema,
  startProxy,
  TEST_POSTGRES_URL,
  uniqueSchema,
} from "../store/drivers/postgres-test-support.ts";
import { createPostgresArchiveBackend } from "./archive-table-postgres.ts";

const schema = uniqueSchema("hf_archive_cut");

after(async () => {
  await dropSchema(schema);
});

describe("postgres archive backend: connection dropped while migrating", () => {
  it("fails unavailable (no crash), and the next start migrates", async () => {
    const proxy = await startProxy();
    const url = `postgres://postgres@127.0.0.1:${proxy.port}/test?schema=${schema}`;
    // Another instance holds the migration lock, so the migration is still running when the
    // network drops its connection.
    const locker = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    try {
      await locker.connect();
      await locker.query("BEGIN");
      await locker.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${schema}.holdfast_archives`]);
      const opening = createPostgresArchiveBackend(url);
      await sleep(300);
      proxy.cut();
      await assert.rejects(opening, (error: Error & { code?: string }) => {
        assert.equal(error.code, "unavailable");
        assert.match(
          error.message,
          /^Lost the connection to the archive database postgres:\/\/…@127\.0\.0\.1:\d+\/test\?schema=hf_archive_cut_/,
        );
        assert.match(error.message, /Check that the database is reachable/);
        return true;
      });
      await locker.query("ROLLBACK");
      const backend = await createPostgresArchiveBackend(url);
      await backend.close();
    } finally {
      await locker.end();
      await proxy.close();
    }
  });
});
