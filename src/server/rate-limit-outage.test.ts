/**
 * Rate limits shared through Redis (several instances, one limit) while that Redis goes away:
 * a turn that already committed still answers 200 (its usage settles best-effort), and requests
 * that cannot be checked get 503 `unavailable` — never a 500 — until Redis is back.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { type RedisServerHandle, startRedisServer } from "../../test/redis-cluster/index.ts";
import { parseRateLimitRedis } from "../config/rate-limit-redis.ts";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { createSecurity } from "../security/create-security.ts";
import { createRateLimiter } from "../security/rate-limit/limiter.ts";
import { createRedisRateLimitBackend } from "../security/rate-limit/redis-backend.ts";
import {
  createRateLimitRedisClient,
  type RateLimitRedisClient,
} from "../security/rate-limit/redis-client.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";

const UPSTREAM_LATENCY_MS = 800;

describe("rate limits in Redis: Redis outage", () => {
  let redisServer: RedisServerHandle;
  let redis: RateLimitRedisClient;
  let upstream: MockUpstream;
  let store: SessionStore;
  let gateway: Gateway;
  let app: FastifyInstance;
  let key: string;

  before(async () => {
    redisServer = await startRedisServer();
    // As app.ts builds it for `rate_limits.redis`.
    redis = createRateLimitRedisClient(parseRateLimitRedis({ redis: redisServer.url }, {})!);
    upstream = await createMockUpstream({ latencyMs: UPSTREAM_LATENCY_MS });
    store = await createStore("memory:");
    const security = createSecurity({ store });
    key = (await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] })).secret;
    const providers = parseProvidersConfig(
      {
        providers: [
          { name: "up", type: "openai-chat", baseUrl: `${upstream.url}/v1`, retry: { maxRetries: 0 } },
        ],
      },
      {},
    );
    gateway = createGateway({ store, providers: createProviderLayer(providers, { env: {} }) });
    const limiter = createRateLimiter({
      backend: createRedisRateLimitBackend({ redis }),
      perKey: { requestsPerMinute: 1000, tokensPerMinute: 1_000_000 },
    });
    app = await createServer({
      store,
      gateway: { engine: gateway.engine, models: gateway.models },
      security: { security, development: false, limiter },
    });
  });

  after(async () => {
    await app?.close();
    await gateway?.close();
    await store?.close();
    await upstream?.close();
    redis?.disconnect();
    await redisServer?.stop();
  });

  const call = (method: "GET" | "POST", url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload === undefined ? {} : { payload }),
    });

  test("a committed turn answers 200 though Redis died before its usage was settled", async () => {
    const conv = (await call("POST", "/v1/conversations", {})).json() as { id: string };
    const turn = call("POST", "/v1/responses", { model: "up/mock", input: "hello", conversation: conv.id });
    // The turn passed its rate-limit check and waits for the upstream: Redis goes now.
    await new Promise((resolve) => setTimeout(resolve, UPSTREAM_LATENCY_MS / 4));
    await redisServer.kill(true);
    const res = await turn;
    assert.equal(res.statusCode, 200, res.body);
    const items = await store.readItems("acme", conv.id);
    assert.equal(items.length, 3, "input, output and response record were committed");
  });

  test("while Redis is down: 503 unavailable, not 500; served again once it is back", async () => {
    const res = await call("GET", "/v1/conversations");
    assert.equal(res.statusCode, 503, res.body);
    assert.equal((res.json() as { error: { code: string } }).error.code, "unavailable");
    await redisServer.restart();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await call("GET", "/v1/conversations")).statusCode;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 200);
  });
});
