/**
 * `npm run bench:migrate`: live migration throughput, SQLite → Postgres (issue 8). Seeds a SQLite
 * store with N sessions of M turns, migrates it into a fresh Postgres schema with the same code
 * `holdfast migrate` runs, and reports sessions/s, items/s and MB/s (verification included).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { migrate } from "../src/interop/migrate.ts";
import { createStore } from "../src/store/create-store.ts";
import { parseBenchArgs } from "./lib/args.ts";

const values = parseBenchArgs(
  "npm run bench:migrate --",
  "Live migration throughput, SQLite → Postgres, with the code `holdfast migrate` runs.",
  {
    sessions: { type: "string", default: "1000", value: "n", help: "sessions seeded in the SQLite source" },
    turns: { type: "string", default: "20", value: "n", help: "turns per session" },
    to: {
      type: "string",
      default: "postgres://postgres@127.0.0.1:5432/test",
      value: "url",
      help: "Postgres target (a throw-away schema is used)",
    },
    json: { type: "boolean", default: false, help: "print the figures as JSON" },
  },
);
const sessions = Number(values.sessions);
const turns = Number(values.turns);
const schema = `hf_bench_migrate_${randomBytes(4).toString("hex")}`;
const dir = await mkdtemp(path.join(tmpdir(), "hf-bench-migrate-"));
const from = `sqlite:${path.join(dir, "from.db")}`;
const to = `${values.to}${values.to.includes("?") ? "&" : "?"}schema=${schema}`;

try {
  const source = await createStore(from);
  const text = "The quick brown fox jumps over the lazy dog while the agent calls a tool. ".repeat(3);
  for (let s = 0; s < sessions; s++) {
    const session = await source.create("default", { owner: `user-${s % 50}`, labels: ["bench"] });
    const items = [];
    for (let t = 0; t < turns; t++) {
      items.push({
        content: { type: "message", role: "user", content: [{ type: "input_text", text: `${t} ${text}` }] },
      });
      items.push({
        content: { type: "message", role: "assistant", content: [{ type: "output_text", text }] },
      });
    }
    await source.append("default", session.id, items);
  }
  await source.close();
  const bytes = (await stat(path.join(dir, "from.db"))).size;

  const src = await createStore(from);
  const dst = await createStore(to);
  const started = process.hrtime.bigint();
  const report = await migrate(src, dst, { tenants: ["default"] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all([src.close(), dst.close()]);
  const result = {
    from: "sqlite",
    to: "postgres",
    sessions: report.sessions,
    items: report.items,
    mismatches: report.mismatches.length,
    seconds: Number(seconds.toFixed(2)),
    sessionsPerSecond: Math.round(report.sessions / seconds),
    itemsPerSecond: Math.round(report.items / seconds),
    mbPerSecond: Number((bytes / 1e6 / seconds).toFixed(1)),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(
      `migrate sqlite → postgres: ${result.sessions} sessions, ${result.items} items in ${result.seconds} s — ` +
        `${result.sessionsPerSecond} sessions/s, ${result.itemsPerSecond} items/s, ${result.mbPerSecond} MB/s ` +
        `(verified: ${result.mismatches} mismatches)\n`,
    );
  }
} finally {
  const client = new pg.Client({ connectionString: values.to });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  await rm(dir, { recursive: true, force: true });
}
