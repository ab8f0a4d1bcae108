/**
 * The public token routes run the same request checks as every other route: oversized headers
 * are 431 before anything is read or spent, and logging out counts against the caller's rate
 * limits like any request of its key or user.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createSecurity, type Security } from "../../security/create-security.ts";
import { createRateLimiter } from "../../security/rate-limit/limiter.ts";
import { createMemoryRateLimitBackend } from "../../security/rate-limit/memory-backend.ts";
import { createStore } from "../../store/create-store.ts";
import type { SessionStore } from "../../store/types.ts";
import { createServer } from "../create-server.ts";

describe("token routes' request guards", () => {
  let store: SessionStore;
  let security: Security;
  let app: FastifyInstance;

  before(async () => {
    store = await createStore("memory:");
    security = createSecurity({ store });
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend(),
      perOwner: { requestsPerMinute: 2 },
      perKey: { requestsPerMinute: 2 },
    });
    app = await createServer({ store, security: { security, development: false, limiter } });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  const huge = { "x-filler": "a".repeat(9000) };

  test("oversized headers are 431 on /v1/auth/token, and the refresh token is not spent", async () => {
    const signIn = await security.refreshTokens.issue("acme", { owner: "ada" });
    const payload = { grant_type: "refresh_token", refresh_token: signIn.refreshToken };
    const refused = await app.inject({ method: "POST", url: "/v1/auth/token", payload, headers: huge });
    assert.equal(refused.statusCode, 431, refused.body);
    assert.equal(refused.json().error.code, "headers_too_large");
    const many = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x-h${i}`, "1"]));
    const tooMany = await app.inject({ method: "POST", url: "/v1/auth/token", payload, headers: many });
    assert.equal(tooMany.statusCode, 431, tooMany.body);
    const ok = await app.inject({ method: "POST", url: "/v1/auth/token", payload });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test("oversized headers are 431 on /v1/auth/logout, and nobody is logged out", async () => {
    const signIn = await security.refreshTokens.issue("acme", { owner: "bea" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await app.inject({
      method: "POST",
      url: "/v1/auth/logout",
      payload: {},
      headers: { authorization: `Bearer ${signIn.accessToken}`, ...huge },
    });
    assert.equal(refused.statusCode, 431, refused.body);
    assert.equal(refused.json().error.code, "headers_too_large");
    assert.equal((await security.accessTokens.verify(signIn.accessToken)).owner, "bea");
  });

  test("logging out counts against the caller's rate limits", async () => {
    const { secret } = await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] });
    const logout = () =>
      app.inject({
        method: "POST",
        url: "/v1/auth/logout",
        payload: { owner: "cat" },
        headers: { authorization: `Bearer ${secret}` },
      });
    assert.equal((await logout()).statusCode, 200);
    assert.equal((await logout()).statusCode, 200);
    const limited = await logout();
    assert.equal(limited.statusCode, 429, limited.body);
    assert.equal(limited.json().error.code, "rate_limit_exceeded");
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
  });
});
