/**
 * `/readyz` is readiness: 200 while the store answers, 503 `unavailable` in the API's error shape
 * within its timeout while the store is down (a real Redis killed and restarted), 200 again once
 * it is back. `/healthz` stays liveness only: 200 throughout.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { type RedisServerHandle, startRedisServer } from "../../test/redis-cluster/index.ts";
import { createSecurity } from "../security/create-security.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";
import { READY_TIMEOUT_MS } from "./routes/health.ts";

describe("GET /readyz", () => {
  let redisServer: RedisServerHandle;
  let store: SessionStore;
  let app: FastifyInstance;

  before(async () => {
    redisServer = await startRedisServer();
    store = await createStore(redisServer.url);
    const security = createSecurity({ store });
    // With an API key, so the route is shown to need none (like /healthz).
    await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] });
    app = await createServer({ store, security: { security, development: false } });
  });

  after(async () => {
    await app?.close();
    await store?.close().catch(() => {});
    await redisServer?.stop();
  });

  test("200 while the store answers, without credentials", async () => {
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { status: "ready", store: "redis" });
  });

  test("503 within its timeout, never hanging, while the store accepts commands but does not answer", async () => {
    const admin = new Redis(redisServer.url);
    try {
      // Holds every client's commands (ours included) past the timeout: a store up but stuck.
      await admin.call("CLIENT", "PAUSE", String(READY_TIMEOUT_MS + 1000), "ALL");
      const started = Date.now();
      const res = await app.inject({ method: "GET", url: "/readyz" });
      const took = Date.now() - started;
      assert.equal(res.statusCode, 503, res.body);
      const { error } = res.json() as { error: { code: string; message: string } };
      assert.equal(error.code, "unavailable");
      assert.match(error.message, new RegExp(`did not answer within ${READY_TIMEOUT_MS} ms`));
      assert.ok(took >= READY_TIMEOUT_MS - 50 && took < READY_TIMEOUT_MS + 800, `answered in ${took} ms`);
    } finally {
      await admin.call("CLIENT", "UNPAUSE");
      admin.disconnect();
    }
  });

  test("503 unavailable within its timeout while the store is down, 200 again once it is back", async () => {
    await redisServer.kill(true);
    try {
      const started = Date.now();
      const res = await app.inject({ method: "GET", url: "/readyz" });
      const took = Date.now() - started;
      assert.equal(res.statusCode, 503, res.body);
      const body = res.json() as { error: { type: string; code: string; message: string } };
      assert.equal(body.error.code, "unavailable");
      assert.equal(res.headers["retry-after"], "1");
      assert.equal(body.error.type, "server_error");
      assert.match(body.error.message, /^Not ready: the store \(redis\) /);
      assert.ok(took < READY_TIMEOUT_MS + 1500, `answered in ${took} ms`);
      // Liveness is not readiness: the process still serves.
      assert.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
    } finally {
      await redisServer.restart();
    }
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await app.inject({ method: "GET", url: "/readyz" })).statusCode;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(status, 200, "ready again once the store is back");
  });
});
