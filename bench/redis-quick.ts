/**
 * `node bench/redis-quick.ts [--url redis://127.0.0.1:6379/0] [--rounds 5] [--duration 1000]`
 *
 * Redis driver figures, JSON vs MessagePack item encoding, measured in interleaved rounds so
 * both encodings see the same background load: append turns/s at concurrency 1 and 32 and
 * readWindow(8000 tokens) p50/p99 at 100 and 100,000 items. Besides wall-clock figures
 * (best and median round) it reports CPU time per operation — of this process and of the
 * Redis server (INFO cpu) — which the load of other processes on a shared machine disturbs
 * far less. Uses its own key prefix and deletes its keys at the end.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createStore } from "../src/store/create-store.ts";
import type { ItemInput, SessionStore } from "../src/store/types.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { median, percentile } from "./lib/stats.ts";
import { turn } from "./lib/turns.ts";

const TENANT = "bench";
const ENCODINGS = ["json", "msgpack"] as const;
type Encoding = (typeof ENCODINGS)[number];

interface Round {
  c1: number;
  c32: number;
  c32NodeCpuUs: number;
  c32RedisCpuUs: number;
  w100p50: number;
  w100p99: number;
  w100kp50: number;
  w100kp99: number;
  windowNodeCpuUs: number;
}

async function redisCpuUs(admin: Redis): Promise<number> {
  const info = await admin.info("cpu");
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (get("used_cpu_user") + get("used_cpu_sys")) * 1e6;
}

function nodeCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function appendRate(store: SessionStore, ids: string[], ms: number): Promise<number> {
  let n = 0;
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(
    ids.map(async (id) => {
      while (performance.now() < end) {
        await store.append(TENANT, id, turn(n++));
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

async function windowTimes(store: SessionStore, id: string, samples: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await store.readWindow(TENANT, id, { maxTokens: 8000 });
    times.push((performance.now() - start) * 1000);
  }
  return times;
}

async function fill(store: SessionStore, id: string, count: number): Promise<void> {
  for (let done = 0; done < count; done += 1000) {
    const batch: ItemInput[] = [];
    for (let i = 0; i < 500; i++) batch.push(...turn(done / 2 + i));
    await store.append(TENANT, id, batch);
  }
}

interface Setup {
  store: SessionStore;
  c1: string[];
  c32: string[];
  w100: string;
  w100k: string;
}

async function setup(url: string, prefix: string, encoding: Encoding): Promise<Setup> {
  const store = await createStore(`${url}?prefix=${prefix}-${encoding}&encoding=${encoding}`);
  const make = async (): Promise<string> => (await store.create(TENANT)).id;
  const c32 = await Promise.all(Array.from({ length: 32 }, make));
  const w100 = await make();
  const w100k = await make();
  await fill(store, w100, 100);
  await fill(store, w100k, 100_000);
  return { store, c1: [await make()], c32, w100, w100k };
}

async function round(s: Setup, admin: Redis, ms: number): Promise<Round> {
  await appendRate(s.store, s.c32, 200); // warm-up
  const c1 = await appendRate(s.store, s.c1, ms / 2);
  const node0 = nodeCpuUs();
  const redis0 = await redisCpuUs(admin);
  let turns = 0;
  const rate = await appendRate(s.store, s.c32, ms);
  turns = rate * (ms / 1000);
  const c32NodeCpuUs = (nodeCpuUs() - node0) / turns;
  const c32RedisCpuUs = (await redisCpuUs(admin)) - redis0;
  const w0 = nodeCpuUs();
  const w100 = await windowTimes(s.store, s.w100, 300);
  const w100k = await windowTimes(s.store, s.w100k, 300);
  return {
    c1,
    c32: rate,
    c32NodeCpuUs,
    c32RedisCpuUs: c32RedisCpuUs / turns,
    w100p50: median(w100),
    w100p99: percentile(w100, 99),
    w100kp50: median(w100k),
    w100kp99: percentile(w100k, 99),
    windowNodeCpuUs: (nodeCpuUs() - w0) / 600,
  };
}

async function main(): Promise<void> {
  const values = parseBenchArgs(
    "node bench/redis-quick.ts",
    "Redis driver figures, JSON vs MessagePack item encoding, in interleaved rounds.",
    {
      url: { type: "string", default: "redis://127.0.0.1:6379/0", value: "url", help: "Redis server" },
      rounds: { type: "string", default: "5", value: "n", help: "interleaved rounds per encoding" },
      duration: { type: "string", default: "1000", value: "ms", help: "length of each phase" },
    },
  );
  const url = values.url;
  const prefix = `hfquick-${randomBytes(4).toString("hex")}`;
  const admin = new Redis(url);
  const setups = new Map<Encoding, Setup>();
  const rounds = new Map<Encoding, Round[]>(ENCODINGS.map((e) => [e, []]));
  try {
    for (const e of ENCODINGS) setups.set(e, await setup(url, prefix, e));
    for (let r = 0; r < Number(values.rounds); r++) {
      const order = r % 2 === 0 ? ENCODINGS : [...ENCODINGS].reverse();
      for (const e of order) rounds.get(e)!.push(await round(setups.get(e)!, admin, Number(values.duration)));
      console.error(`round ${r + 1} done`);
    }
  } finally {
    for (const s of setups.values()) await s.store.close();
    for (const e of ENCODINGS) {
      const keys = await admin.keys(`${prefix}-${e}:*`);
      for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
    }
    await admin.quit();
  }
  const report: Record<string, Record<string, { best: number; median: number }>> = {};
  for (const [e, list] of rounds) {
    report[e] = {};
    for (const key of Object.keys(list[0]!) as (keyof Round)[]) {
      const values = list.map((x) => x[key]);
      const higherIsBetter = key === "c1" || key === "c32";
      const best = higherIsBetter ? Math.max(...values) : Math.min(...values);
      report[e]![key] = { best: Math.round(best * 10) / 10, median: Math.round(median(values) * 10) / 10 };
    }
  }
  console.log(JSON.stringify({ url, rounds: Number(values.rounds), report }, null, 2));
}

await main();
