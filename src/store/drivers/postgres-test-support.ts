/**
 * Test support for the Postgres driver: the server every test uses and a unique schema per
 * run, dropped afterwards, so concurrent runs never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The test server (trust auth). Override with HOLDFAST_TEST_POSTGRES. */
export const TEST_POSTGRES_URL =
  process.env.HOLDFAST_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";

/** A fresh schema name, e.g. `hf_test_3f2a…`. */
export function uniqueSchema(prefix = "hf_test"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** The test URL with `?schema=`. */
export function schemaUrl(schema: string): string {
  return `${TEST_POSTGRES_URL}${TEST_POSTGRES_URL.includes("?") ? "&" : "?"}schema=${schema}`;
}

/** Runs SQL on a short-lived connection outside any store (setup, inspection, cleanup). */
export async function adminQuery(text: string, values?: unknown[]): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
