/**
 * `rate_limits.redis` as `holdfast serve` reads it: checked before anything starts, and a
 * `redis+cluster://` URL shares one limit between instances through a real Redis Cluster.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type RedisClusterHandle, startRedisCluster } from "../test/redis-cluster/index.ts";
import { createHoldfastApp, type HoldfastApp } from "./app.ts";
import type { ServerConfig } from "./config/load-config.ts";
import { createSecurity } from "./security/create-security.ts";
import { createStore } from "./store/create-store.ts";

function config(rateLimits: object, store = "memory:"): ServerConfig {
  return {
    port: 0,
    host: "127.0.0.1",
    store,
    bodyLimit: 1 << 20,
    logLevel: "silent",
    configFile: "/srv/holdfast.yaml",
    file: { rate_limits: rateLimits },
  };
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
