/**
 * `npm run bench:sweep [-- --stores sqlite,postgres,redis] [--sessions 10000] [--items 100]
 *   [--batch 25] [--pause 0] [--pause-ratio 0] [--rate 1000] [--after 5] [--runs 1] [--archive-sessions 500]
 *   [--archive-backend dir|sqlite|postgres] [--archive-compression gzip|zstd] [--json]`
 *
 * The lifecycle sweeper under load (issue 7):
 *   1. seeds `sessions × items` expired items (default 10,000 × 100 = 1,000,000) plus 200 live
 *      sessions, on a temporary SQLite file and a throw-away Postgres schema;
 *   2. measures live appends (one turn, 1,000/s over 4 clients) for 3 s: the baseline p50/p99;
 *   3. plans and enforces the cleanup (delete on expiry) while the same load runs, and reports
 *      the sweep time and the live p50/p99 during the sweep (targets: ≤ 5 s, p99 ≤ 2× baseline),
 *      then keeps the load on for `--after` seconds: the p99 and the slowest append once the
 *      sweep is over (what the sweep leaves behind, e.g. copying its WAL, shows there);
 *   4. archives `archive-sessions` expired sessions of 100 items to compressed JSONL in the
 *      chosen archive backend (a directory, a SQLite table or a Postgres table) and restores
 *      them: sessions/s both ways.
 * `--runs n` repeats all of it on fresh stores, store after store in turn (so the runs of every
 * store interleave), and adds a row of medians: single runs of the p99 ratio swing by several×
 * on a shared machine.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { openArchiveBackend } from "../src/lifecycle/archive-open.ts";
import { createArchiver } from "../src/lifecycle/archiver.ts";
import { parseLifecycleConfig } from "../src/lifecycle/config.ts";
import { parseLifecyclePolicy } from "../src/lifecycle/policy.ts";
import { createSweeper } from "../src/lifecycle/sweeper.ts";
import { createStore } from "../src/store/create-store.ts";
import type { ItemInput, SessionStore } from "../src/store/types.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { percentile } from "./lib/stats.ts";
import { type Figures, sweepTable } from "./lib/sweep-report.ts";
import { turn } from "./lib/turns.ts";

const values = parseBenchArgs(
  "npm run bench:sweep --",
  "The lifecycle sweeper under live load: sweep time and live append p50/p99 before, during and after " +
    "deleting sessions × items expired items, then archive and restore throughput.",
  {
    stores: {
      type: "string",
      default: "sqlite,postgres",
      help: "stores to measure: sqlite, postgres, redis",
    },
    sessions: { type: "string", default: "10000", value: "n", help: "expired sessions to seed" },
    items: { type: "string", default: "100", value: "n", help: "items per expired session" },
    batch: { type: "string", default: "25", value: "n", help: "sessions per sweep batch" },
    pause: { type: "string", default: "0", value: "ms", help: "pause between sweep batches" },
    "pause-ratio": {
      type: "string",
      default: "0",
      value: "k",
      help: "after a batch of t ms, pause k × t (the sweeper's pauseRatio)",
    },
    rate: { type: "string", default: "1000", value: "n", help: "live appends per second (4 clients)" },
    after: {
      type: "string",
      default: "5",
      value: "s",
      help: "seconds of live load measured after the sweep",
    },
    runs: { type: "string", default: "1", value: "n", help: "repeat on fresh stores, with a row of medians" },
    "archive-sessions": {
      type: "string",
      default: "500",
      value: "n",
      help: "sessions archived and restored",
    },
    "archive-backend": { type: "string", default: "dir", help: "archive backend: dir, sqlite, postgres" },
    "archive-compression": { type: "string", default: "gzip", help: "archive compression: gzip, zstd" },
    redis: {
      type: "string",
      default: process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0",
      value: "url",
      help: "Redis for --stores redis (a throw-away key prefix)",
    },
    postgres: {
      type: "string",
      default: process.env.HOLDFAST_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test",
      value: "url",
      help: "Postgres for --stores postgres (a throw-away schema)",
    },
    json: { type: "boolean", default: false, help: "print the figures as JSON" },
  },
);
const SESSIONS = Number(values.sessions);
const ITEMS = Number(values.items);
const BATCH = Number(values.batch);
const PAUSE = Number(values.pause);
const PAUSE_RATIO = Number(values["pause-ratio"]);
const ARCHIVE_SESSIONS = Number(values["archive-sessions"]);
const RATE = Number(values.rate);
const AFTER_MS = Number(values.after) * 1000;
const RUNS = Number(values.runs);
const ARCHIVE_SCHEMA = `hf_sweep_archive_${randomBytes(4).toString("hex")}`;
const LIVE = 200;
const TENANT = "bench";
const DAY = 86_400_000;

/** The archive backend `--archive-backend` names, in `dir` (a temporary directory). */
function archiveSection(dir: string): unknown {
  const backend = values["archive-backend"];
  const compression = values["archive-compression"];
  if (backend === "dir") return { backend, dir, compression };
  if (backend === "sqlite") return { backend, url: `sqlite:${join(dir, "archives.db")}`, compression };
  const base = values.postgres;
  return { backend, url: `${base}${base.includes("?") ? "&" : "?"}schema=${ARCHIVE_SCHEMA}`, compression };
}

function items(n: number, seed: number): ItemInput[] {
  const out: ItemInput[] = [];
  for (let i = 0; out.length < n; i++) out.push(...turn(seed + i));
  return out.slice(0, n);
}

/**
 * Live traffic: appends of one turn to live sessions at a fixed rate (`--rate`, default 1,000/s,
 * spread over 4 clients), so the load does not itself take all the CPU; latencies in ms.
 */
function liveLoad(store: SessionStore, live: string[], concurrency = 4): { stop: () => Promise<number[]> } {
  const latencies: number[] = [];
  const interval = (1000 * concurrency) / RATE;
  let running = true;
  let n = 0;
  const worker = async (offset: number): Promise<void> => {
    let next = performance.now() + offset;
    while (running) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += interval;
      const id = live[n++ % live.length]!;
      const t = performance.now();
      await store.append(TENANT, id, turn(n));
      latencies.push(performance.now() - t);
    }
  };
  const workers = Array.from({ length: concurrency }, (_, i) => worker((i * interval) / concurrency));
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return latencies;
    },
  };
}

async function seed(
  store: SessionStore,
  clock: { offset: number },
  count: number,
  perSession: number,
): Promise<void> {
  clock.offset = -DAY;
  const body = items(perSession, 0);
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < count; i++) {
    const p = store.create(TENANT, { owner: `u${i % 1000}`, idleTtlMs: 3_600_000, items: body });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 32) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  clock.offset = 0;
}

const summary = (l: number[]): { p50Ms: number; p99Ms: number; n: number } => ({
  p50Ms: percentile(l, 50),
  p99Ms: percentile(l, 99),
  n: l.length,
});

async function run(kind: string, url: string): Promise<Figures> {
  const clock = { offset: 0 };
  const store = await createStore({ url, clock: () => Date.now() + clock.offset });
  const archiveDir = mkdtempSync(join(tmpdir(), "holdfast-bench-archive-"));
  try {
    let t = performance.now();
    await seed(store, clock, SESSIONS, ITEMS);
    const seedSeconds = (performance.now() - t) / 1000;
    const live: string[] = [];
    for (let i = 0; i < LIVE; i++) live.push((await store.create(TENANT, { items: turn(i) })).id);

    // Warm-up: the load runs once so the WAL checkpoints after seeding are not in the baseline.
    const warmup = liveLoad(store, live);
    await new Promise((r) => setTimeout(r, 2000));
    await warmup.stop();
    const baselineLoad = liveLoad(store, live);
    await new Promise((r) => setTimeout(r, 3000));
    const baseline = summary(await baselineLoad.stop());

    const policy = parseLifecyclePolicy({ defaults: { on_expiry: "delete" } });
    const sweeper = createSweeper({
      store,
      policy,
      batchSize: BATCH,
      pauseMs: PAUSE,
      pauseRatio: PAUSE_RATIO,
    });
    t = performance.now();
    const plan = await sweeper.plan();
    const planMs = performance.now() - t;
    const load = liveLoad(store, live);
    await new Promise((r) => setTimeout(r, 200));
    t = performance.now();
    const report = await sweeper.apply(plan);
    const sweepMs = performance.now() - t;
    const during = summary(await load.stop());
    if (report.done !== SESSIONS) throw new Error(`swept ${report.done} of ${SESSIONS} sessions`);
    // The same load once the sweep is over: work the sweep deferred or left behind (on SQLite,
    // copying the WAL it grew) must not simply move the stall out of the measured window.
    const afterLoad = liveLoad(store, live);
    await new Promise((r) => setTimeout(r, AFTER_MS));
    const afterLatencies = await afterLoad.stop();
    const after = { ...summary(afterLatencies), maxMs: Math.max(...afterLatencies) };

    // Archive and restore throughput.
    await seed(store, clock, ARCHIVE_SESSIONS, 100);
    const settings = parseLifecycleConfig(
      { archive: archiveSection(archiveDir) },
      "--archive-backend",
    ).archive;
    const { backend } = await openArchiveBackend(settings);
    const archiver = createArchiver(store, { backend });
    const archiving = createSweeper({ store, policy: parseLifecyclePolicy({}), archiver, batchSize: 100 });
    const expired = await archiving.plan();
    const archivePlan = {
      ...expired,
      actions: (await sweeper.plan()).actions.map((a) => ({ ...a, action: "archive" as const })),
    };
    t = performance.now();
    // CPU time of this process per session as well: wall-clock rates are noisy on a shared machine.
    let cpu = process.cpuUsage();
    const archived = await archiving.apply(archivePlan);
    const archivePerSec = archived.done / ((performance.now() - t) / 1000);
    const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
    const archiveCpuMs = cpuMs(process.cpuUsage(cpu)) / archived.done;
    cpu = process.cpuUsage();
    t = performance.now();
    const queue = [...archivePlan.actions];
    const restoreWorker = async (): Promise<void> => {
      for (let a = queue.shift(); a; a = queue.shift()) await archiver.restore(a.tenant, a.sessionId);
    };
    await Promise.all(Array.from({ length: 4 }, restoreWorker));
    const restorePerSec = archivePlan.actions.length / ((performance.now() - t) / 1000);
    const restoreCpuMs = cpuMs(process.cpuUsage(cpu)) / archivePlan.actions.length;
    await backend.close();

    return {
      store: kind,
      seedSeconds,
      items: SESSIONS * ITEMS,
      planMs,
      sweepMs,
      sweptSessions: report.done,
      baseline,
      during,
      p99Ratio: during.p99Ms / baseline.p99Ms,
      after,
      archiveBackend: `${backend.kind} ${backend.compression}`,
      archivePerSec,
      restorePerSec,
      archiveCpuMs,
      restoreCpuMs,
    };
  } finally {
    await store.close();
    rmSync(archiveDir, { recursive: true, force: true });
  }
}

/** One run of every store in `--stores`. */
async function runStores(): Promise<Figures[]> {
  const out: Figures[] = [];
  for (const kind of values.stores.split(",")) {
    if (kind === "sqlite") {
      const dir = mkdtempSync(join(tmpdir(), "holdfast-bench-sweep-"));
      try {
        out.push(await run("sqlite", `sqlite:${join(dir, "sweep.db")}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else if (kind === "postgres") {
      const schema = `hf_sweep_${randomBytes(4).toString("hex")}`;
      const base = values.postgres;
      try {
        out.push(await run("postgres", `${base}${base.includes("?") ? "&" : "?"}schema=${schema}`));
      } finally {
        const client = new pg.Client({ connectionString: base });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
    } else if (kind === "redis") {
      // A throw-away key prefix on the given Redis (never FLUSHALL a shared one).
      const prefix = `hf_sweep_${randomBytes(4).toString("hex")}`;
      const base = values.redis;
      try {
        out.push(await run("redis", `${base}${base.includes("?") ? "&" : "?"}prefix=${prefix}`));
      } finally {
        const redis = new Redis(base);
        for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1000 })) {
          if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
        }
        await redis.quit();
      }
    } else {
      throw new Error(`--stores: unknown store '${kind}' (use sqlite, postgres, redis)`);
    }
  }
  return out;
}

const results: Figures[] = [];
for (let run = 0; run < RUNS; run++) results.push(...(await runStores()));

if (values["archive-backend"] === "postgres") {
  const client = new pg.Client({ connectionString: values.postgres });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${ARCHIVE_SCHEMA}" CASCADE`);
  await client.end();
}

process.stdout.write(values.json ? `${JSON.stringify(results, null, 2)}\n` : sweepTable(results));
