/**
 * The stores the adapter tests run on: memory, a temp SQLite file, a unique Postgres schema and
 * a unique Redis key prefix, all through `createStore(url)` only. Each `open()` gives a fresh
 * store; `cleanup()` removes everything the run created.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { createStore } from "../../store/create-store.ts";
import type { SessionStore } from "../../store/types.ts";

const POSTGRES = process.env.HOLDFAST_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";

export interface TestStoreKind {
  name: string;
  open(): Promise<SessionStore>;
  cleanup(): Promise<void>;
}

/** One entry per driver; names are `memory`, `sqlite`, `postgres`, `redis`. */
export function testStoreKinds(label: string): TestStoreKind[] {
  const run = randomBytes(6).toString("hex");
  let dir: string | undefined;
  let opened = 0;
  const schema = `hf_adapters_${run}`;
  const prefix = `hfadapters-${label}-${run}`;
  return [
    { name: "memory", open: () => createStore("memory:"), cleanup: async () => {} },
    {
      name: "sqlite",
      open: async () => {
        dir ??= await mkdtemp(join(tmpdir(), `holdfast-${label}-`));
        return await createStore(`sqlite:${join(dir, `${opened++}.db`)}`);
      },
      cleanup: async () => {
        if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      },
    },
    {
      name: "postgres",
      open: () => createStore(`${POSTGRES}${POSTGRES.includes("?") ? "&" : "?"}schema=${schema}`),
      cleanup: async () => {
        const client = new pg.Client({ connectionString: POSTGRES });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
      },
    },
    {
      name: "redis",
      open: () => createStore(`${REDIS}${REDIS.includes("?") ? "&" : "?"}prefix=${prefix}`),
      cleanup: async () => {
        const redis = new Redis(REDIS);
        try {
          const keys = await redis.keys(`${prefix}:*`);
          if (keys.length > 0) await redis.del(...keys);
        } finally {
          await redis.quit();
        }
      },
    },
  ];
}
