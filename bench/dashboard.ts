/**
 * `npm run bench:dashboard [-- --stores sqlite,postgres] [--sessions 100000] [--runs 5]
 *   [--ab-sort-indexes] [--json]`
 *
 * What the dashboard costs on a large tenant (issue 9):
 *   1. seeds `sessions` sessions of 0–6 items each (sizes and update times spread out) in one
 *      tenant, on a temporary SQLite file and a throw-away Postgres schema;
 *   2. times one Sessions page (50 rows) for every sort and order, first page and page 21 (a
 *      keyset cursor), plus a filtered page (size and age filters): median wall time and
 *      CPU time of this process over `runs` repetitions;
 *   3. times one refresh of the storage gauges: the driver's `storageTotals` aggregate (one GROUP
 *      BY) and the fallback `scanStorageTotals` (every session row read into the process);
 *   4. with `--ab-sort-indexes`: why the sorts by last update, items and bytes have no index. The
 *      three (tenant, key, id) indexes are created, the pages timed again, then 2,000 one-item
 *      appends run with and without them, interleaved twice: append CPU time of this process
 *      (SQLite runs in-process) and the share of HOT updates of `sessions` (Postgres).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { aggregateStorageTotals, scanStorageTotals } from "../src/observability/storage-gauges.ts";
import { createStore } from "../src/store/create-store.ts";
import { driverOf } from "../src/store/decorators/delegating-store.ts";
import { hasStorageTotals, isLifecycleCapable } from "../src/store/driver.ts";
import type { ListQuery, ListSort, SessionStore } from "../src/store/types.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { fmt, formatTable } from "./lib/table.ts";

const values = parseBenchArgs(
  "npm run bench:dashboard --",
  "What the dashboard's Sessions pages and storage gauges cost on a large tenant.",
  {
    stores: { type: "string", default: "sqlite,postgres", value: "list", help: "stores to seed and time" },
    sessions: { type: "string", default: "100000", value: "n", help: "sessions seeded in one tenant" },
    runs: { type: "string", default: "5", value: "n", help: "repetitions per timed page" },
    "ab-sort-indexes": {
      type: "boolean",
      default: false,
      help: "also time the pages and appends with indexes for the updated/items/bytes sorts",
    },
    postgres: {
      type: "string",
      default: process.env.HOLDFAST_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test",
      value: "url",
      help: "Postgres server (a throw-away schema is used)",
    },
    json: { type: "boolean", default: false, help: "print the figures as JSON" },
  },
);
const SESSIONS = Number(values.sessions);
const RUNS = Number(values.runs);
const TENANT = "bench";

const SORT_INDEXES: Record<string, { drop: string; create: string }> = {
  sqlite: {
    drop: "DROP INDEX sessions_tenant_updated; DROP INDEX sessions_tenant_items; DROP INDEX sessions_tenant_bytes;",
    create:
      "CREATE INDEX sessions_tenant_updated ON sessions (tenant, updated_at, id); " +
      "CREATE INDEX sessions_tenant_items ON sessions (tenant, item_count, id); " +
      "CREATE INDEX sessions_tenant_bytes ON sessions (tenant, (item_bytes + length(CAST(state AS BLOB))), id);",
  },
  postgres: {
    drop: "DROP INDEX sessions_updated_idx, sessions_items_idx, sessions_bytes_idx",
    create:
      "CREATE INDEX sessions_updated_idx ON sessions (tenant, updated_at, id); " +
      "CREATE INDEX sessions_items_idx ON sessions (tenant, item_count, id); " +
      "CREATE INDEX sessions_bytes_idx ON sessions (tenant, (item_bytes + octet_length(state)), id); ANALYZE sessions",
  },
};

/** Runs DDL/statistics on the bench database beside the store. */
interface Admin {
  exec(sql: string): Promise<void>;
  /** Postgres: [HOT updates, updates] of the sessions table. */
  counters(): Promise<[number, number] | null>;
  close(): Promise<void>;
}

interface Row {
  store: string;
  query: string;
  wallMs: number;
  cpuMs: number;
  rows: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ wallMs: number; cpuMs: number; value: T }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, value };
}

async function seed(store: SessionStore): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < SESSIONS) {
      const i = next++;
      const n = i % 7;
      const items = Array.from({ length: n }, (_, k) => ({
        content: { type: "message", role: "user", content: "x".repeat(20 + ((i * 31 + k * 17) % 400)) },
      }));
      const s = await store.create(TENANT, {
        owner: `owner${i % 50}`,
        labels: i % 10 === 0 ? ["vip"] : [],
        ...(n > 0 ? { items } : {}),
      });
      if (i % 3 === 0) await store.update(TENANT, s.id, { labels: ["touched"] });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function pageAt(store: SessionStore, query: ListQuery, page: number): Promise<string | undefined> {
  let cursor: string | undefined;
  for (let i = 1; i < page; i++) {
    const p = await store.list(TENANT, { ...query, ...(cursor ? { cursor } : {}) });
    cursor = p.nextCursor ?? undefined;
  }
  return cursor;
}

async function appendCost(
  store: SessionStore,
  admin: Admin,
  ids: string[],
  n: number,
): Promise<{ cpuMsPerOp: number; wallMsPerOp: number; hotShare: number | null }> {
  const before = await admin.counters();
  const t = await timed(async () => {
    for (let i = 0; i < n; i++) {
      const id = ids[(i * 7919) % ids.length]!;
      await store.append(TENANT, id, [
        { content: { type: "message", role: "user", content: `append ${i}` } },
      ]);
    }
  });
  // Statistics reach pg_stat_user_tables asynchronously.
  if (before) await new Promise((r) => setTimeout(r, 800));
  const after = await admin.counters();
  return {
    cpuMsPerOp: t.cpuMs / n,
    wallMsPerOp: t.wallMs / n,
    hotShare:
      before && after && after[1] > before[1] ? (after[0] - before[0]) / (after[1] - before[1]) : null,
  };
}

async function measure(name: string, store: SessionStore, suffix = ""): Promise<Row[]> {
  const rows: Row[] = [];
  const run = async (label: string, query: ListQuery, page = 1): Promise<void> => {
    label = `${label}${suffix}`;
    const cursor = await pageAt(store, query, page);
    const wall: number[] = [];
    const cpu: number[] = [];
    let n = 0;
    for (let r = 0; r < RUNS; r++) {
      const t = await timed(() => store.list(TENANT, { ...query, ...(cursor ? { cursor } : {}) }));
      wall.push(t.wallMs);
      cpu.push(t.cpuMs);
      n = t.value.data.length;
    }
    rows.push({ store: name, query: label, wallMs: median(wall), cpuMs: median(cpu), rows: n });
  };
  for (const sort of ["created", "updated", "items", "bytes"] as ListSort[]) {
    for (const order of ["desc", "asc"] as const) {
      await run(`sort=${sort} ${order}, page 1`, { sort, order, limit: 50 });
    }
    await run(`sort=${sort} desc, page 21`, { sort, order: "desc", limit: 50 }, 21);
  }
  const day = Date.now() - 86_400_000;
  await run("sort=bytes desc, minBytes=1000, created < 1 day", {
    sort: "bytes",
    limit: 50,
    minBytes: 1000,
    createdAfter: day,
  });
  await run("sort=updated desc, label=touched", { sort: "updated", limit: 50, label: "touched" });
  const driver = driverOf(store);
  if (!suffix && driver && isLifecycleCapable(driver)) {
    const refresh = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let r = 0; r < Math.min(RUNS, 3); r++) {
        const t = await timed(fn);
        wall.push(t.wallMs);
        cpu.push(t.cpuMs);
      }
      rows.push({ store: name, query: label, wallMs: median(wall), cpuMs: median(cpu), rows: SESSIONS });
    };
    if (hasStorageTotals(driver)) {
      await refresh("storage gauges refresh (storageTotals aggregate)", () =>
        aggregateStorageTotals(driver, (x) => x, Date.now()),
      );
    }
    await refresh("storage gauges refresh (session scan fallback)", () =>
      scanStorageTotals(driver, (x) => x, Date.now()),
    );
  }
  return rows;
}

async function openAdmin(kind: string, target: string, url: string): Promise<Admin> {
  if (kind === "sqlite") {
    const db = new DatabaseSync(target);
    db.exec("PRAGMA busy_timeout = 10000");
    return {
      exec: async (sql) => void db.exec(sql),
      counters: async () => null,
      close: async () => db.close(),
    };
  }
  const schema = new URL(url).searchParams.get("schema")!;
  const client = new pg.Client(target);
  await client.connect();
  await client.query(`SET search_path TO "${schema}"`);
  return {
    exec: async (sql) => void (await client.query(sql)),
    counters: async () => {
      const { rows } = await client.query(
        `SELECT n_tup_hot_upd::float8 AS hot, n_tup_upd::float8 AS upd
         FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'sessions'`,
        [schema],
      );
      const r = rows[0] as { hot: number; upd: number };
      return [r.hot, r.upd];
    },
    close: () => client.end(),
  };
}

const results: Row[] = [];
const appends: {
  store: string;
  indexed: boolean;
  round: number;
  cpuMsPerOp: number;
  wallMsPerOp: number;
  hotShare: number | null;
}[] = [];
const dir = mkdtempSync(join(tmpdir(), "holdfast-bench-dashboard-"));
try {
  for (const kind of values.stores.split(",")) {
    let url: string;
    let cleanup = async (): Promise<void> => {};
    if (kind === "sqlite") url = `sqlite:${join(dir, "dashboard.db")}`;
    else if (kind === "postgres") {
      const schema = `bench_dash_${process.pid}`;
      url = `${values.postgres}${values.postgres.includes("?") ? "&" : "?"}schema=${schema}`;
      cleanup = async () => {
        const client = new pg.Client(values.postgres);
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      };
    } else throw new Error(`Unknown store '${kind}' (sqlite, postgres).`);
    const store = await createStore(url);
    const admin = await openAdmin(kind, kind === "sqlite" ? join(dir, "dashboard.db") : values.postgres, url);
    try {
      const t = performance.now();
      await seed(store);
      process.stderr.write(
        `${kind}: seeded ${SESSIONS} sessions in ${fmt((performance.now() - t) / 1000, 0)} s\n`,
      );
      if (kind === "postgres") await admin.exec("ANALYZE sessions");
      results.push(...(await measure(kind, store)));
      if (values["ab-sort-indexes"]) {
        await admin.exec(SORT_INDEXES[kind]!.create);
        results.push(...(await measure(kind, store, " (with sort indexes)")));
        await admin.exec(SORT_INDEXES[kind]!.drop);
        const ids = (await store.list(TENANT, { limit: 1000 })).data.map((x) => x.id);
        for (let round = 0; round < 2; round++) {
          for (const indexed of [false, true]) {
            if (indexed) await admin.exec(SORT_INDEXES[kind]!.create);
            appends.push({ store: kind, indexed, round, ...(await appendCost(store, admin, ids, 2000)) });
            if (indexed) await admin.exec(SORT_INDEXES[kind]!.drop);
          }
        }
      }
    } finally {
      await store.close();
      await admin.close();
      await cleanup();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (values.json) process.stdout.write(`${JSON.stringify({ results, appends }, null, 2)}\n`);
else {
  process.stdout.write(
    formatTable(
      ["store", "query", "median ms", "CPU ms", "rows"],
      results.map((r) => [r.store, r.query, fmt(r.wallMs, 1), fmt(r.cpuMs, 1), String(r.rows)]),
    ),
  );
  if (appends.length > 0)
    process.stdout.write(
      `\n\n${formatTable(
        ["store", "sort indexes", "round", "append CPU ms", "append wall ms", "HOT share"],
        appends.map((a) => [
          a.store,
          a.indexed ? "yes" : "no (shipped)",
          String(a.round + 1),
          fmt(a.cpuMsPerOp, 3),
          fmt(a.wallMsPerOp, 3),
          a.hotShare === null ? "—" : `${(a.hotShare * 100).toFixed(0)}%`,
        ]),
      )}`,
    );
  process.stdout.write(
    `\n${SESSIONS} sessions in one tenant; load average ${(await import("node:os")).loadavg()[0]!.toFixed(2)}\n`,
  );
}
