/**
 * `npm run bench:store [-- --stores url1,url2] [--json] [--duration ms] [--no-encryption]`
 *
 * Measures every store URL through the public contract (`createStore(url)`), so a new driver
 * is benchmarked by adding its URL. Default stores: `memory:` and a temporary SQLite file.
 * Scenarios (each on its own fresh store / SQLite file):
 *   - appends of one turn (a user + an assistant message) per second, concurrency 1 and 32,
 *     with the CPU time per turn of this process and, for a local Redis or Postgres, of the
 *     server's processes (bench/lib/server-cpu.ts);
 *   - readWindow(maxTokens 8000) p50/p99 with 100, 10,000 and 100,000 stored items;
 *   - list (limit 20, newest first) p50 over 10,000 sessions;
 *   - 400 turns in one session (readWindow + append each): per-turn time near turn 10 and
 *     turn 400, and bytes on disk afterwards (SQLite: file + WAL after the closing checkpoint);
 *   - encryption at rest (`--no-encryption` skips it): append, 8k window and turn on the same
 *     driver without and with `withEncryption`, interleaved A/B rounds in CPU µs per operation
 *     (bench/lib/encryption-ab.ts); target: each under +10 % of the unencrypted figure. Beside
 *     the append, its AEAD floor: the plain append plus the same two seals, measured in place.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createStore } from "../src/store/create-store.ts";
import type { ItemInput, SessionStore } from "../src/store/types.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { type EncryptionFigures, encryptionOverhead } from "./lib/encryption-ab.ts";
import { processCpuUs, serverProcessName } from "./lib/server-cpu.ts";
import { median, nowUs, percentile, type Rate, sample, throughput } from "./lib/stats.ts";
import { defaultSqliteUrl, diskBytes, scenarioUrl } from "./lib/store-urls.ts";
import { fmt, formatTable } from "./lib/table.ts";
import { turn } from "./lib/turns.ts";

const TENANT = "bench";
const WINDOW_TOKENS = 8000;
const WINDOW_SIZES = [100, 10_000, 100_000] as const;
const LIST_SESSIONS = 10_000;
const TURNS = 400;

/** Appends per second, plus CPU µs per turn: this process's and the database server's. */
export interface AppendRate extends Rate {
  clientCpuUsPerTurn: number;
  /**
   * CPU of every local `redis-server` / `postgres` process per turn (other clients of a shared
   * server count too); null for in-process stores and servers the bench cannot see.
   */
  serverCpuUsPerTurn: number | null;
  /** 1-minute load average when the run ended. */
  loadAverage: number;
}

export interface StoreFigures {
  store: string;
  appendTurnsPerSec: { c1: AppendRate; c32: AppendRate };
  window: { items: number; windowItems: number; p50Us: number; p99Us: number }[];
  /** Median time to fork a session of 10,000 items (whole history). */
  fork10kUs: number;
  windowRatio100kTo100: number;
  listP50Us: number;
  turns400: {
    /** Median append time (2 items) around turn 10 and turn 400. */
    append10Us: number;
    append400Us: number;
    /** Median whole-turn time (readWindow + append) around turns 10, 100 and 400. */
    turn10Us: number;
    turn100Us: number;
    turn400Us: number;
    logicalBytes: number;
    diskBytes: number | null;
  };
  /** Without and with encryption at rest (absent with --no-encryption). */
  encryption?: EncryptionFigures;
}

async function withStore<T>(url: string, run: (store: SessionStore) => Promise<T>): Promise<T> {
  const store = await createStore(url);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

async function appendRate(url: string, concurrency: number, durationMs: number): Promise<AppendRate> {
  const server = serverProcessName(url);
  return withStore(scenarioUrl(url, `append-c${concurrency}`), async (store) => {
    const sessions = await Promise.all(Array.from({ length: concurrency }, () => store.create(TENANT)));
    let n = 0;
    const call = (w: number): Promise<unknown> => store.append(TENANT, sessions[w]!.id, turn(n++));
    await throughput(call, concurrency, Math.min(300, durationMs / 4)); // warm-up
    const serverStart = server ? processCpuUs(server) : null;
    const before = n;
    const rate = await throughput(call, concurrency, durationMs);
    const serverEnd = server ? processCpuUs(server) : null;
    const turns = n - before;
    return {
      ...rate,
      clientCpuUsPerTurn: 1e6 / rate.perCpuSec,
      serverCpuUsPerTurn:
        serverStart === null || serverEnd === null ? null : (serverEnd - serverStart) / turns,
      loadAverage: loadavg()[0]!,
    };
  });
}

/** Fills a session with `count` items using big appends (1000 items each). */
async function fill(store: SessionStore, id: string, count: number): Promise<void> {
  for (let done = 0; done < count; ) {
    const batch: ItemInput[] = [];
    for (let i = 0; i < 500 && done + batch.length < count; i++) batch.push(...turn(done / 2 + i));
    await store.append(TENANT, id, batch.slice(0, count - done));
    done += Math.min(batch.length, count - done);
  }
}

async function windowLatency(
  url: string,
  samples: number,
): Promise<{ window: StoreFigures["window"]; fork10kUs: number }> {
  return withStore(scenarioUrl(url, "window"), async (store) => {
    const out: StoreFigures["window"] = [];
    let fork10kUs = Number.NaN;
    for (const size of WINDOW_SIZES) {
      const s = await store.create(TENANT);
      await fill(store, s.id, size);
      const read = (): Promise<unknown> => store.readWindow(TENANT, s.id, { maxTokens: WINDOW_TOKENS });
      const windowItems = (await store.readWindow(TENANT, s.id, { maxTokens: WINDOW_TOKENS })).items.length;
      const times = await sample(read, samples, 200);
      out.push({ items: size, windowItems, p50Us: median(times), p99Us: percentile(times, 99) });
      if (size === 10_000) fork10kUs = median(await sample(() => store.fork(TENANT, s.id), 10, 2));
    }
    return { window: out, fork10kUs };
  });
}

async function listLatency(url: string, samples: number): Promise<number> {
  return withStore(scenarioUrl(url, "list"), async (store) => {
    for (let made = 0; made < LIST_SESSIONS; made += 1000) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) => store.create(TENANT, { owner: `user-${(made + i) % 100}` })),
      );
    }
    const times = await sample(() => store.list(TENANT, { limit: 20 }), samples, 100);
    return median(times);
  });
}

/** Median of the samples for turns `at-5 … at+5` (1-based), clipped to the run. */
function around(samples: number[], at: number): number {
  return median(samples.slice(Math.max(0, at - 6), Math.min(samples.length, at + 5)));
}

async function fourHundredTurns(url: string): Promise<StoreFigures["turns400"]> {
  const scenario = scenarioUrl(url, "turns400");
  const appendUs: number[] = [];
  const turnUs: number[] = [];
  const logicalBytes = await withStore(scenario, async (store) => {
    const s = await store.create(TENANT);
    for (let t = 0; t < TURNS; t++) {
      const start = nowUs();
      await store.readWindow(TENANT, s.id, { maxTokens: WINDOW_TOKENS });
      const mid = nowUs();
      await store.append(TENANT, s.id, turn(t));
      const end = nowUs();
      appendUs.push(end - mid);
      turnUs.push(end - start);
    }
    return (await store.get(TENANT, s.id)).bytes;
  });
  return {
    append10Us: around(appendUs, 10),
    append400Us: around(appendUs, TURNS),
    turn10Us: around(turnUs, 10),
    turn100Us: around(turnUs, 100),
    turn400Us: around(turnUs, TURNS),
    logicalBytes,
    diskBytes: diskBytes(scenario),
  };
}

async function benchStore(
  url: string,
  durationMs: number,
  samples: number,
  encryption: boolean,
): Promise<StoreFigures> {
  const c1 = await appendRate(url, 1, durationMs);
  const c32 = await appendRate(url, 32, durationMs);
  const { window, fork10kUs } = await windowLatency(url, samples);
  const listP50Us = await listLatency(url, Math.ceil(samples / 2));
  const turns400 = await fourHundredTurns(url);
  const first = window[0]!.p50Us;
  const last = window.at(-1)!.p50Us;
  return {
    store: url,
    appendTurnsPerSec: { c1, c32 },
    window,
    fork10kUs,
    windowRatio100kTo100: last / first,
    listP50Us,
    turns400,
    ...(encryption ? { encryption: await encryptionOverhead(url) } : {}),
  };
}

/** `before → after (+x %)`. */
function change(before: number, after: number): string {
  const pct = ((after - before) / before) * 100;
  return `${fmt(before)} → ${fmt(after)} (${pct >= 0 ? "+" : ""}${pct.toFixed(0)} %)`;
}

/** `plain → encrypted (+x %)` for one encryption figure. */
function overhead(r: StoreFigures, pick: (side: EncryptionFigures["plain"]) => number): string {
  return r.encryption ? change(pick(r.encryption.plain), pick(r.encryption.encrypted)) : "—";
}

/** `plain → plain + seals (+x %)`: what the two AES-GCM seals alone add to an append, in place. */
function sealFloor(r: StoreFigures): string {
  return r.encryption ? change(r.encryption.plain.appendCpuUs, r.encryption.sealFloorAppendCpuUs) : "—";
}

function printTable(results: StoreFigures[]): void {
  const rows: string[][] = [];
  const add = (label: string, pick: (r: StoreFigures) => string, target = ""): void => {
    rows.push([label, ...results.map(pick), target]);
  };
  add("append turns/s, concurrency 1", (r) => fmt(r.appendTurnsPerSec.c1.perSec));
  add(
    "append turns/s, concurrency 32 (32 sessions)",
    (r) => fmt(r.appendTurnsPerSec.c32.perSec),
    "SQLite ≥ 20,000, Redis ≥ 25,000, Postgres ≥ 5,000",
  );
  add("  per CPU-second, concurrency 1", (r) => fmt(r.appendTurnsPerSec.c1.perCpuSec));
  add("  per CPU-second, concurrency 32", (r) => fmt(r.appendTurnsPerSec.c32.perCpuSec));
  add("  server CPU µs per turn, concurrency 1", (r) => fmt(r.appendTurnsPerSec.c1.serverCpuUsPerTurn, 1));
  add("  server CPU µs per turn, concurrency 32", (r) => fmt(r.appendTurnsPerSec.c32.serverCpuUsPerTurn, 1));
  add("  load average (1 min) after concurrency 32", (r) => fmt(r.appendTurnsPerSec.c32.loadAverage, 1));
  WINDOW_SIZES.forEach((size, i) => {
    const w = (r: StoreFigures) => r.window[i]!;
    add(`window p50 µs @ ${size.toLocaleString("en-US")} items`, (r) => fmt(w(r).p50Us), "≤ 100");
    add(`window p99 µs @ ${size.toLocaleString("en-US")} items`, (r) => fmt(w(r).p99Us));
    add(`  items in window`, (r) => String(w(r).windowItems));
  });
  add("window p50 ratio 100k / 100", (r) => fmt(r.windowRatio100kTo100, 2), "≤ 1.5");
  add("fork µs, 10,000-item session", (r) => fmt(r.fork10kUs));
  add("list p50 µs @ 10,000 sessions", (r) => fmt(r.listP50Us));
  add("append µs near turn 10", (r) => fmt(r.turns400.append10Us));
  add("append µs near turn 400", (r) => fmt(r.turns400.append400Us), "flat");
  add("turn (window + append) µs near turn 10", (r) => fmt(r.turns400.turn10Us));
  add("turn (window + append) µs near turn 100", (r) => fmt(r.turns400.turn100Us));
  add("turn (window + append) µs near turn 400", (r) => fmt(r.turns400.turn400Us), "flat");
  add("session bytes after 400 turns", (r) => fmt(r.turns400.logicalBytes));
  add("bytes on disk after 400 turns", (r) => fmt(r.turns400.diskBytes), "≤ 1,048,576");
  if (results.some((r) => r.encryption)) {
    add("encryption: append CPU µs, plain → encrypted", (r) => overhead(r, (s) => s.appendCpuUs), "< +10 %");
    add("  AEAD floor: plain append + its 2 seals", sealFloor);
    add("encryption: 8k window CPU µs", (r) => overhead(r, (s) => s.windowCpuUs), "< +10 %");
    add("encryption: turn (window + append) CPU µs", (r) => overhead(r, (s) => s.turnCpuUs));
    add("encryption: append wall µs", (r) => overhead(r, (s) => s.appendUs));
    add("encryption: 8k window wall µs", (r) => overhead(r, (s) => s.windowUs));
    add("encryption: turn wall µs", (r) => overhead(r, (s) => s.turnUs));
    add("encryption: 8k window CPU µs, caches off", (r) => fmt(r.encryption?.coldWindowCpuUs ?? Number.NaN));
  }
  console.log(formatTable(["metric", ...results.map((r) => r.store), "target"], rows));
}

async function main(): Promise<void> {
  const values = parseBenchArgs(
    "npm run bench:store --",
    "Store throughput, window latency, list, long-session and encryption-at-rest figures per store URL.",
    {
      stores: {
        type: "string",
        value: "url,url",
        help: "store URLs to measure, comma-separated [default: memory: and a temporary SQLite file]",
      },
      json: { type: "boolean", default: false, help: "print the figures as JSON" },
      duration: { type: "string", default: "2000", value: "ms", help: "length of each throughput phase" },
      samples: { type: "string", default: "2000", value: "n", help: "window/list reads per latency figure" },
      encryption: { type: "boolean", default: true, help: "run the encryption-at-rest A/B" },
    },
  );
  const dir = mkdtempSync(join(tmpdir(), "holdfast-bench-"));
  const urls = values.stores ? values.stores.split(",").filter(Boolean) : ["memory:", defaultSqliteUrl(dir)];
  const results: StoreFigures[] = [];
  try {
    for (const url of urls) {
      if (!values.json) console.error(`benchmarking ${url} …`);
      results.push(await benchStore(url, Number(values.duration), Number(values.samples), values.encryption));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (values.json) console.log(JSON.stringify({ node: process.version, results }, null, 2));
  else printTable(results);
}

await main();
