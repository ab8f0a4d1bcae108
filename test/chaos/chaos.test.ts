/**
 * The multi-instance chaos test (issue 3): three `holdfast serve` processes over one shared store,
 * 64 clients appending turns with idempotency keys, one server SIGKILLed and restarted every
 * couple of seconds — then every acknowledged turn must be present exactly once, seq dense,
 * versions consistent, and every acknowledged operation id must still replay to its items.
 * Runs on SQLite (one file, three processes), Postgres, Redis and a real 3-master Redis Cluster.
 * Bounded for CI; `npm run chaos -- --store <url> --long` runs it for minutes.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import pg from "pg";
import { type ChaosReport, runChaos } from "../../scripts/chaos/run.ts";
import { startRedisCluster } from "../redis-cluster/index.ts";

const DURATION_MS = 8_000;
const KILL_EVERY_MS = 2_000;
const suffix = randomBytes(4).toString("hex");

function assertClean(report: ChaosReport): void {
  assert.ok(report.turnsAcknowledged > 100, `only ${report.turnsAcknowledged} turns acknowledged`);
  assert.ok(report.killsSurvived >= 2, `only ${report.killsSurvived} kills`);
  assert.deepEqual(
    {
      lost: report.lost,
      duplicated: report.duplicated,
      gaps: report.gaps,
      badVersions: report.badVersions,
      badReplays: report.badReplays,
    },
    { lost: 0, duplicated: 0, gaps: 0, badVersions: 0, badReplays: 0 },
    report.problems.slice(0, 10).join("\n"),
  );
}

const run = (store: string): Promise<ChaosReport> =>
  runChaos({ store, durationMs: DURATION_MS, killEveryMs: KILL_EVERY_MS });

describe("chaos: 3 servers, 64 clients, SIGKILL loop", { concurrency: 1 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  });

  test("sqlite (one file shared by three processes)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hf-chaos-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    assertClean(await run(`sqlite:${path.join(dir, "chaos.db")}`));
  });

  test("postgres", async () => {
    const schema = `hf_chaos_${suffix}`;
    cleanups.push(async () => {
      const client = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/test" });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    });
    assertClean(await run(`postgres://postgres@127.0.0.1:5432/test?schema=${schema}`));
  });

  test("redis", async () => {
    const prefix = `hfchaos${suffix}`;
    cleanups.push(async () => {
      const redis = new Redis("redis://127.0.0.1:6379");
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    assertClean(await run(`redis://127.0.0.1:6379/0?prefix=${prefix}`));
  });

  test("redis cluster (3 masters)", async () => {
    const cluster = await startRedisCluster(3);
    cleanups.push(() => cluster.stop());
    assertClean(await run(`${cluster.url}?prefix=hfchaos${suffix}`));
  });
});
