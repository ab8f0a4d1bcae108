/**
 * `node bench/postgres-quick.ts [--url postgres://…] [--pool 10,32] [--concurrency 1,32] [--duration 3000]`
 *
 * Quick Postgres-only figures that complement `bench/store.ts`: append turns/s at concurrency
 * 1 and 32 for several pool sizes, and the cost of storing item content as TEXT (what the
 * driver does) vs JSONB. Runs in a throw-away schema that it drops at the end.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createSessionStore } from "../src/store/core.ts";
import { createPostgresDriver } from "../src/store/drivers/postgres.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { median, sample, throughput } from "./lib/stats.ts";
import { turn } from "./lib/turns.ts";

const values = parseBenchArgs(
  "node bench/postgres-quick.ts",
  "Postgres append turns/s per pool size and concurrency, and TEXT vs JSONB item content.",
  {
    url: {
      type: "string",
      default: "postgres://postgres@127.0.0.1:5432/test",
      value: "url",
      help: "Postgres server",
    },
    pool: { type: "string", default: "10,32", value: "list", help: "pool sizes to try" },
    duration: { type: "string", default: "3000", value: "ms", help: "length of each phase" },
    concurrency: { type: "string", default: "1,32", value: "list", help: "concurrent appenders to try" },
  },
);
const url = values.url;
const durationMs = Number(values.duration);
const schema = `hf_quick_${randomBytes(4).toString("hex")}`;
const sep = url.includes("?") ? "&" : "?";

async function appendRate(
  poolSize: number,
  concurrency: number,
): Promise<{ rate: number; perBatch: number }> {
  const driver = await createPostgresDriver({ connectionString: `${url}${sep}schema=${schema}`, poolSize });
  const store = createSessionStore(driver);
  try {
    const sessions = await Promise.all(Array.from({ length: concurrency }, () => store.create("bench")));
    let n = 0;
    const call = (w: number): Promise<unknown> => store.append("bench", sessions[w]!.id, turn(n++));
    await throughput(call, concurrency, 300);
    const before = driver.appendStats;
    const rate = (await throughput(call, concurrency, durationMs)).perSec;
    const after = driver.appendStats;
    const perBatch = (after.combined - before.combined) / Math.max(1, after.batches - before.batches);
    return { rate, perBatch };
  } finally {
    await store.close();
  }
}

/** Inserts and reads back 2-item turns with content as `type`; returns turns/s and read µs. */
async function contentCost(type: "text" | "jsonb"): Promise<{ insertPerSec: number; readP50Us: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const table = `"${schema}".content_${type}`;
  try {
    await client.query(`CREATE TABLE ${table} (k bigserial PRIMARY KEY, content ${type} NOT NULL)`);
    await client.query("SET synchronous_commit = off"); // measure the column type, not the disk
    let n = 0;
    const insert = async (): Promise<void> => {
      const items = turn(n++).map((i) => JSON.stringify(i.content));
      await client.query({
        name: `ins_${type}`,
        text: `INSERT INTO ${table} (content) SELECT unnest($1::text[])::${type}`,
        values: [items],
      });
    };
    const insertPerSec = (await throughput(insert, 1, durationMs)).perSec;
    const times = await sample(
      () =>
        client.query({ name: `sel_${type}`, text: `SELECT content FROM ${table} ORDER BY k DESC LIMIT 80` }),
      500,
    );
    return { insertPerSec, readP50Us: median(times) };
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const rows: string[] = [];
  try {
    for (const poolSize of values.pool.split(",").map(Number)) {
      for (const concurrency of values.concurrency.split(",").map(Number)) {
        const { rate, perBatch } = await appendRate(poolSize, concurrency);
        rows.push(
          `append turns/s  pool ${poolSize}  concurrency ${concurrency}: ${rate.toFixed(0)} (appends per combined batch ${perBatch.toFixed(1)})`,
        );
        console.error(rows.at(-1));
      }
    }
    for (const type of ["text", "jsonb"] as const) {
      const r = await contentCost(type);
      rows.push(
        `content ${type}: ${r.insertPerSec.toFixed(0)} turn inserts/s, read 80 rows p50 ${r.readP50Us.toFixed(0)} µs`,
      );
      console.error(rows.at(-1));
    }
  } finally {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  console.log(rows.join("\n"));
}

await main();
