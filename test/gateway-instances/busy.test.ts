/**
 * The busy policy across real `holdfast serve` processes over one store (issue #5): concurrent
 * turns on one conversation through the mock upstream (with latency) never interleave; under
 * `queue` all succeed, under `reject` the loser gets 409 `conversation_busy` even on another
 * instance; a SIGKILLed holder's claim expires. On SQLite (one file), Redis and Postgres.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";
import { ServerFleet } from "../../scripts/chaos/servers.ts";
import { createHoldfastApp, type HoldfastApp } from "../../src/app.ts";
import { loadServerConfig } from "../../src/config/index.ts";
import { createMockUpstream, type MockUpstream } from "../../src/mock-upstream/index.ts";
import { createStore } from "../../src/store/create-store.ts";
import type { Item, SessionStore } from "../../src/store/types.ts";
import { assertTurnsDoNotInterleave } from "../support/transcript.ts";

const TENANT = "default";
const CLAIM_TTL_MS = 1_000;
const suffix = randomBytes(4).toString("hex");

let fast: MockUpstream;
let slow: MockUpstream;
let dir: string;

before(async () => {
  fast = await createMockUpstream({ latencyMs: 150 });
  // About one word per second: a turn on it runs for several seconds, streamed or not.
  slow = await createMockUpstream({ tokensPerS: 1 });
  dir = await mkdtemp(path.join(tmpdir(), "hf-busy-"));
});

after(async () => {
  await fast?.close();
  await slow?.close();
  await rm(dir, { recursive: true, force: true });
});

async function configFile(policy: "queue" | "reject"): Promise<string> {
  const file = path.join(dir, `${policy}-${randomBytes(3).toString("hex")}.json`);
  const config = {
    providers: [
      { name: "fast", type: "openai-chat", baseUrl: `${fast.url}/v1`, retry: { maxRetries: 0 } },
      { name: "slow", type: "openai-chat", baseUrl: `${slow.url}/v1`, retry: { maxRetries: 0 } },
    ],
    gateway: { busy_policy: policy, busy_claim_ttl: CLAIM_TTL_MS, busy_max_wait: "30s" },
  };
  await writeFile(file, JSON.stringify(config));
  return file;
}

async function turn(
  url: string,
  conversation: string,
  input: string,
  model = "fast/mock",
): Promise<{ status: number; code: string | null }> {
  const res = await fetch(`${url}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, input, conversation }),
  });
  const body = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, code: body.error?.code ?? null };
}

/** Starts a streamed turn and resolves once the response has started (headers and first events). */
async function openStream(url: string, conversation: string, input: string, signal: AbortSignal) {
  const res = await fetch(`${url}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "slow/mock", input, conversation, stream: true }),
    signal,
  });
  assert.equal(res.status, 200);
  return res;
}

const texts = (items: Item[]): string[] =>
  items.map((i) => {
    const parts = (i.content.content ?? []) as { text?: string }[];
    return `${i.type}:${parts[0]?.text ?? ""}`;
  });

async function waitForItems(store: SessionStore, id: string, count: number): Promise<void> {
  const until = Date.now() + 10_000;
  while ((await store.get(TENANT, id)).itemCount < count) {
    if (Date.now() > until) throw new Error(`conversation ${id} never reached ${count} items`);
    await sleep(20);
  }
}

/** Somewhere to send turns: real `holdfast serve` processes or in-process apps, two of them. */
interface Instances {
  urls: string[];
  apps: HoldfastApp[];
  stop(): Promise<void>;
}

/** Two in-process apps, each with its own store instance (own locks, own connections) over one URL. */
async function inProcess(storeUrl: string, policy: "queue" | "reject"): Promise<Instances> {
  const apps: HoldfastApp[] = [];
  const urls: string[] = [];
  for (let i = 0; i < 2; i++) {
    const config = await loadServerConfig({
      flags: { store: storeUrl, config: await configFile(policy), port: "0", logLevel: "warn" },
      env: {},
    });
    const holdfast = await createHoldfastApp({ config, env: {} });
    apps.push(holdfast);
    urls.push(await holdfast.app.listen({ port: 0, host: "127.0.0.1" }));
  }
  return { urls, apps, stop: async () => void (await Promise.allSettled(apps.map((a) => a.shutdown(1000)))) };
}

async function burst(urls: string[], conv: string, n: number) {
  return Promise.all(
    Array.from({ length: n }, (_, i) => turn(urls[i % urls.length]!, conv, `question ${i}`)),
  );
}

function suite(
  name: string,
  url: () => Promise<string>,
  cleanup: () => Promise<void>,
  processes: boolean,
): void {
  describe(`busy policy across instances: ${name}`, { concurrency: 1 }, () => {
    let storeUrl: string;
    let store: SessionStore;
    const stops: (() => Promise<void>)[] = [];
    before(async () => {
      storeUrl = await url();
      store = await createStore(storeUrl);
    });
    after(async () => {
      for (const stop of stops) await stop().catch(() => {});
      await store?.close();
      await cleanup();
    });

    test("queue (two in-process instances): concurrent turns all succeed, one at a time", async () => {
      const instances = await inProcess(storeUrl, "queue");
      stops.push(() => instances.stop());
      const conv = await store.create(TENANT);
      const results = await burst(instances.urls, conv.id, 6);
      assert.deepEqual(
        results.map((r) => r.status),
        Array(6).fill(200),
        JSON.stringify(results),
      );
      assert.equal(assertTurnsDoNotInterleave(await store.readItems(TENANT, conv.id, { limit: 1000 })), 6);
    });

    test("reject (two in-process instances): the second turn gets 409 conversation_busy wherever it arrives", async () => {
      const instances = await inProcess(storeUrl, "reject");
      stops.push(() => instances.stop());
      const [a, b] = instances.urls as [string, string];
      const conv = await store.create(TENANT);
      const abort = new AbortController();
      await openStream(a, conv.id, "first", abort.signal);
      await waitForItems(store, conv.id, 1);
      assert.deepEqual(await turn(b, conv.id, "other instance"), { status: 409, code: "conversation_busy" });
      assert.deepEqual(await turn(a, conv.id, "same instance"), { status: 409, code: "conversation_busy" });
      assert.equal((await store.get(TENANT, conv.id)).itemCount, 1, "the refused turns wrote nothing");
      // The client gives up on the streamed turn: the server commits it as incomplete and releases the claim.
      abort.abort();
      await waitForItems(store, conv.id, 2);
      assert.equal((await turn(b, conv.id, "after abort")).status, 200);
      // A burst from both instances: whatever wins, the rest are refused and nothing interleaves.
      const other = await store.create(TENANT);
      const results = await burst(instances.urls, other.id, 6);
      const ok = results.filter((r) => r.status === 200).length;
      const busy = results.filter((r) => r.status === 409 && r.code === "conversation_busy").length;
      assert.equal(ok + busy, 6, JSON.stringify(results));
      assert.ok(ok >= 1 && busy >= 1, JSON.stringify(results));
      assert.equal(assertTurnsDoNotInterleave(await store.readItems(TENANT, other.id, { limit: 1000 })), ok);

      // Shutdown: a turn still streaming when its instance stops is cut short (committed as
      // incomplete) and gives the conversation back at once, long before the claim would expire.
      const third = await store.create(TENANT);
      const running = await openStream(a, third.id, "cut short by shutdown", new AbortController().signal);
      await waitForItems(store, third.id, 1);
      const closing = instances.apps[0]!.shutdown(100);
      await running.text();
      assert.deepEqual(await turn(b, third.id, "after shutdown"), { status: 200, code: null });
      await closing;
    });

    if (!processes) return;
    test("queue (two holdfast serve processes): turns serialize; a SIGKILLed holder's claim expires", async (t) => {
      const servers = new ServerFleet(storeUrl, ["--config", await configFile("queue")]);
      stops.push(() => servers.stop());
      await servers.start(2);
      const urls = servers.slots.map((s) => s.url);
      const conv = await store.create(TENANT);
      const results = await burst(urls, conv.id, 6);
      assert.deepEqual(
        results.map((r) => r.status),
        Array(6).fill(200),
        JSON.stringify(results),
      );
      assert.equal(assertTurnsDoNotInterleave(await store.readItems(TENANT, conv.id, { limit: 1000 })), 6);

      // A turn stuck upstream on server 0 holds the claim; kill -9 that server mid-turn.
      const stuck = await store.create(TENANT);
      const dying = turn(urls[0]!, stuck.id, "never answered", "slow/mock").catch(() => null);
      await waitForItems(store, stuck.id, 1);
      const killedAt = Date.now();
      assert.equal(await servers.killOne(0, false), 0);
      await dying;
      // Server 1 queues behind the dead claim until it expires, then runs the turn.
      const next = await turn(urls[1]!, stuck.id, "after the crash");
      const waited = Date.now() - killedAt;
      assert.equal(next.status, 200, JSON.stringify(next));
      t.diagnostic(
        `the turn after the crash finished ${waited} ms after the kill (claim TTL ${CLAIM_TTL_MS} ms)`,
      );
      assert.ok(waited < CLAIM_TTL_MS + 5_000, `waited ${waited} ms`);
      const items = texts(await store.readItems(TENANT, stuck.id));
      assert.deepEqual(items.slice(0, 2), ["message:never answered", "message:after the crash"]);
      assert.equal(items.at(-1), "response_record:");
    });
  });
}

suite(
  "sqlite (one file, two processes)",
  async () => `sqlite:${path.join(dir, "busy.db")}`,
  async () => {},
  true,
);

const redisPrefix = `hfbusy${suffix}`;
suite(
  "redis",
  async () => `redis://127.0.0.1:6379/0?prefix=${redisPrefix}`,
  async () => {
    const redis = new Redis("redis://127.0.0.1:6379");
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  },
  true,
);

const schema = `hf_busy_${suffix}`;
suite(
  "postgres",
  async () => `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`,
  async () => {
    const client = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/test" });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  },
  false,
);
