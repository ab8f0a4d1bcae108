/**
 * A Postgres pool whose every connection is busy. A call that waited past `connect_timeout_ms`
 * for a free connection failed with pg-pool's "timeout exceeded when trying to connect", which
 * the driver reported as "Postgres … is unavailable (timeout exceeded when trying to connect)":
 * operators went looking for a network problem while the server answered all along. The error
 * stays `unavailable` (503 with Retry-After) and now says the pool was exhausted, its size, how
 * long the call waited and which settings raise them.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { openTestApp } from "../../server/test-helpers.ts";
import { createStore } from "../create-store.ts";
import type { HoldfastError } from "../errors.ts";
import { dropSchema, schemaUrl, TEST_POSTGRES_URL, uniqueSchema } from "./postgres-test-support.ts";

const schema = uniqueSchema("hf_pool");
after(() => dropSchema(schema));

const EXHAUSTED =
  /pool is exhausted: all 1 connections \(pool_size\) stayed busy and this call waited 300 ms/;

/** Waits until the store's backend (its application_name is the schema) waits on a lock. */
async function untilLockWait(locker: pg.Client): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await locker.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = $1",
      [schema],
    );
    if (rows[0].n > 0) return;
    await sleep(25);
  }
  throw new Error("the store's call never waited on the lock");
}

describe("postgres driver: a pool of 1 held busy", () => {
  it("a call that waits past connect_timeout_ms says the pool is exhausted, not that it cannot connect", async () => {
    const store = await createStore(
      `${schemaUrl(schema)}&pool_size=1&connect_timeout_ms=300&application_name=${schema}`,
    );
    const hf = await openTestApp({ store });
    const locker = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await locker.connect();
    try {
      const held = await hf.call("POST", "/v1/conversations", {});
      const other = await hf.call("POST", "/v1/conversations", {});
      assert.equal(other.status, 200);
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM "${schema}".sessions WHERE id = $1 FOR UPDATE`, [held.json.id]);
      // The delete holds the pool's only connection while it waits for the row lock.
      const removal = hf.call("DELETE", `/v1/conversations/${held.json.id}`);
      await untilLockWait(locker);

      const read = await hf.call("GET", `/v1/conversations/${other.json.id}`);
      assert.equal(read.status, 503);
      assert.equal(read.headers["retry-after"], "1");
      assert.match(read.json.error.message, EXHAUSTED);
      assert.match(read.json.error.message, /Raise pool_size in the store URL/);
      assert.doesNotMatch(read.json.error.message, /timeout exceeded when trying to connect/);

      // The store's own error, for a write too: `unavailable`, naming the pool.
      await assert.rejects(store.touch("default", other.json.id), (error: HoldfastError) => {
        assert.equal(error.code, "unavailable");
        assert.match(error.message, EXHAUSTED);
        return true;
      });

      await locker.query("ROLLBACK");
      assert.equal((await removal).status, 200);
      assert.equal((await hf.call("GET", `/v1/conversations/${other.json.id}`)).status, 200);
    } finally {
      await locker.end();
      await hf.close();
    }
  });
});
