/**
 * `rate_limits.redis` as `holdfast serve` reads it: checked before anything starts, and a
 * `redis+cluster://` URL shares one limit between instances through a real Redis Cluster.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedisCluster,
  startRedisServer,
} from "../test/redis-cluster/index.ts";
import { createHoldfastApp, type HoldfastApp } from "./app.ts";
import type { ServerConfig } from "./config/load-config.ts";
import { testServerConfig } from "./config/test-server-config.ts";
import { createSecurity } from "./security/create-security.ts";
import { createStore } from "./store/create-store.ts";

function config(rateLimits: object, store = "memory:"): ServerConfig {
  return testServerConfig({ store, configFile: "/srv/holdfast.yaml", file: { rate_limits: rateLimits } });
}

describe("rate_limits.redis at start-up", () => {
  test("a URL new Redis() would misread stops the start, naming the setting", async () => {
    await assert.rejects(createHoldfastApp({ config: config({ redis: "localhost:6379" }), env: {} }), {
      code: "invalid_argument",
      message: /^rate_limits\.redis in config file '\/srv\/holdfast\.yaml' must be a Redis URL/,
    });
    await assert.rejects(
      createHoldfastApp({
        config: config({}),
        env: { HOLDFAST_RATE_LIMIT_REDIS: "redis://10.0.0.1:7000,10.0.0.2:7000" },
      }),
      {
        code: "invalid_argument",
        message: /^HOLDFAST_RATE_LIMIT_REDIS lists several hosts: use redis\+cluster/,
      },
    );
  });
});

describe("rate_limits.redis unreachable at start-up", () => {
  let redis: RedisServerHandle;
  let holdfast: HoldfastApp | undefined;
  before(async () => {
    redis = await startRedisServer();
    await redis.kill(true); // down when the server starts: its port refuses connections
  });
  after(async () => {
    await holdfast?.close();
    await redis?.stop();
  });

  test("the start does not wait for it; /readyz answers 503 naming it until it connects, then 200", async () => {
    const started = Date.now();
    holdfast = await createHoldfastApp({
      config: config({ redis: redis.url, per_key: { requests_per_minute: 3 } }),
      env: {},
    });
    // It used to wait 3000 ms for it, then start anyway.
    const took = Date.now() - started;
    assert.ok(took < 3000, `started in ${took} ms`);
    assert.deepEqual(
      holdfast.notices.filter((n) => n.startsWith("rate_limits")),
      [
        `rate_limits.redis (Redis at 127.0.0.1:${redis.port}) is not reachable yet; /readyz and rate-limited requests answer 503 until it is.`,
      ],
    );
    const down = await holdfast.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.headers["retry-after"], "1");
    const { error } = down.json() as { error: { code: string; message: string } };
    assert.equal(error.code, "unavailable");
    assert.match(
      error.message,
      new RegExp(`^Not ready: rate_limits\\.redis \\(Redis at 127\\.0\\.0\\.1:${redis.port}\\) `),
    );
    assert.equal((await holdfast.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);

    await redis.restart();
    const deadline = Date.now() + 15_000;
    let ready = down;
    while (Date.now() < deadline) {
      ready = await holdfast.app.inject({ method: "GET", url: "/readyz" });
      if (ready.statusCode === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json(), { status: "ready", store: "memory" });
  });
});

describe("rate_limits.redis on a Redis Cluster", () => {
  let cluster: RedisClusterHandle;
  let dir: string;
  let store: string;
  let key: string;
  const apps: HoldfastApp[] = [];

  before(async () => {
    cluster = await startRedisCluster(3);
    // Limits apply per API key: both instances serve one SQLite store holding the key.
    dir = await mkdtemp(path.join(tmpdir(), "hf-rl-cluster-"));
    store = `sqlite:${path.join(dir, "holdfast.db")}`;
    const setup = await createStore(store);
    key = (await createSecurity({ store: setup }).apiKeys.create({ tenant: "acme", scopes: ["admin"] }))
      .secret;
    await setup.close();
  });

  after(async () => {
    for (const app of apps) await app.close();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("two instances given redis+cluster:// enforce one limit, not two", async () => {
    const rateLimits = { redis: cluster.url, per_key: { requests_per_minute: 3 } };
    for (let i = 0; i < 2; i++) {
      const app = await createHoldfastApp({ config: config(rateLimits, store), env: {} });
      apps.push(app);
      assert.deepEqual(
        app.notices.filter((n) => n.startsWith("rate_limits")),
        [],
      );
    }
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await apps[i % 2]!.app.inject({
        method: "POST",
        url: "/v1/conversations",
        headers: { authorization: `Bearer ${key}` },
        payload: {},
      });
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  });
});
