/**
 * Development mode ends when an API key appears while the server runs (a `holdfast keys create`
 * on its store, another instance): from then on a request without a credential is refused, as
 * the start-up line promises, without a restart.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSecurity } from "../security/create-security.ts";
import { createStore } from "../store/create-store.ts";
import { createServer } from "./create-server.ts";

test("a key created after start-up ends development mode within the check interval", async () => {
  const store = await createStore("memory:");
  const security = createSecurity({ store });
  const app = await createServer({
    store,
    security: { security, development: true, keyCheckIntervalMs: 50 },
  });
  try {
    const list = (authorization?: string) =>
      app.inject({
        method: "GET",
        url: "/v1/conversations",
        headers: authorization ? { authorization } : {},
      });
    assert.equal((await list()).statusCode, 200, "no key yet: development mode");
    assert.equal((await list("Bearer unused")).statusCode, 200, "a placeholder key is fine");
    const { secret } = await security.apiKeys.create({ tenant: "default", scopes: ["conversations:read"] });
    await sleep(80);
    const refused = await list();
    assert.equal(refused.statusCode, 401);
    assert.equal(JSON.parse(refused.body).error.code, "invalid_api_key");
    assert.equal((await list("Bearer unused")).statusCode, 401);
    assert.equal((await list(`Bearer ${secret}`)).statusCode, 200);
    // For good: revoking every key does not silently reopen the server.
    for (const key of await security.apiKeys.list("default")) await security.apiKeys.revoke(key.keyId);
    await sleep(80);
    assert.equal((await list()).statusCode, 401);
  } finally {
    await app.close();
    await store.close();
  }
});
