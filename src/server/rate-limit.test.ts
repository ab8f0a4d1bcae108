/** Token reservations of model routes are always settled, whichever way the request ends. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createSecurity } from "../security/create-security.ts";
import { createRateLimiter, type RateLimiter } from "../security/rate-limit/limiter.ts";
import { createMemoryRateLimitBackend } from "../security/rate-limit/memory-backend.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";

const BUDGET = 10_000;

describe("rate-limit reservations", () => {
  let store: SessionStore;
  let gateway: Gateway;
  let app: FastifyInstance;
  let limiter: RateLimiter;
  let secret: string;
  let keyId: string;

  before(async () => {
    store = await createStore("memory:");
    const security = createSecurity({ store });
    ({
      secret,
      key: { keyId },
    } = await security.apiKeys.create({ tenant: "acme", scopes: ["responses"] }));
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend(),
      perKey: { tokensPerMinute: BUDGET },
    });
    app = await createServer({
      store,
      gateway: { engine: gateway.engine, models: gateway.models },
      security: { security, development: false, limiter },
    });
  });
  after(async () => {
    await app.close();
    await gateway.close();
    await store.close();
  });

  test("model calls refused before or during the turn give their estimate back", async () => {
    const failures: [string, object, Record<string, string>, number][] = [
      ["/v1/chat/completions", { model: "mock", messages: "not a list", max_tokens: 3000 }, {}, 400],
      [
        "/v1/chat/completions",
        { model: "mock", messages: [{ role: "user", content: "hi" }], max_tokens: 3000 },
        { "holdfast-conversation": "nope" },
        400,
      ],
      [
        "/v1/responses",
        { model: "mock", input: "hi", conversation: "conv_doesnotexist000", max_output_tokens: 3000 },
        {},
        404,
      ],
    ];
    for (let i = 0; i < 9; i++) {
      const [url, payload, headers, status] = failures[i % 3]!;
      const res = await app.inject({
        method: "POST",
        url,
        headers: { authorization: `Bearer ${secret}`, ...headers },
        payload,
      });
      assert.equal(res.statusCode, status, res.body);
    }
    // The whole budget is there again: a reservation of all of it passes.
    const full = await limiter.reserve({ tenant: "acme", keyId, estimatedTokens: BUDGET });
    await full.settle(0);
    const ok = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { authorization: `Bearer ${secret}` },
      payload: { model: "mock", messages: [{ role: "user", content: "hi" }], max_tokens: 3000 },
    });
    assert.equal(ok.statusCode, 200, ok.body);
  });
});
