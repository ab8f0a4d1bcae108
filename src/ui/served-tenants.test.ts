/**
 * The served dashboard's tenant list: every tenant with an API key (revoked ones too) or in the
 * registry, beside `default`; cached briefly; and what `holdfast serve`'s app really offers.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { createHoldfastApp, type HoldfastApp } from "../app.ts";
import { testServerConfig } from "../config/test-server-config.ts";
import { createSecurity } from "../security/create-security.ts";
import { createStore } from "../store/create-store.ts";
import { servedTenants } from "./served-tenants.ts";

/** Signs in to the served dashboard with its admin key; the session cookie to send. */
async function dashboardCookie(served: HoldfastApp, adminKey: string): Promise<string> {
  const signIn = await served.app.inject({
    method: "POST",
    url: "/ui/api/session",
    payload: { key: adminKey },
  });
  assert.equal(signIn.statusCode, 200, signIn.body);
  return String(signIn.headers["set-cookie"]).split(";")[0]!;
}

describe("servedTenants", () => {
  test("default first, then the tenants of API keys and of the registry, sorted, once each", async () => {
    const store = await createStore("memory:");
    const security = createSecurity({ store });
    await security.apiKeys.create({ tenant: "zeta", scopes: ["responses"] });
    await security.apiKeys.create({ tenant: "acme", scopes: ["responses"] });
    const revoked = await security.apiKeys.create({ tenant: "gone", scopes: ["responses"] });
    await security.apiKeys.revoke(revoked.key.keyId);
    await security.apiKeys.create({ tenant: "default", scopes: ["admin"] });
    await security.tenants.create("beta");
    assert.deepEqual(await servedTenants(security)(), ["default", "acme", "beta", "gone", "zeta"]);
    await store.close();
  });

  test("the list is kept for maxAgeMs, then read again", async () => {
    const store = await createStore("memory:");
    const security = createSecurity({ store });
    let now = 1_000;
    const tenants = servedTenants(security, { maxAgeMs: 2_000, clock: () => now });
    assert.deepEqual(await tenants(), ["default"]);
    await security.apiKeys.create({ tenant: "acme", scopes: ["responses"] });
    now += 1_999;
    assert.deepEqual(await tenants(), ["default"]);
    now += 1;
    assert.deepEqual(await tenants(), ["default", "acme"]);
    await store.close();
  });
});

describe("holdfast serve's dashboard", () => {
  test("offers every tenant that has an API key, not only default", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hf-served-tenants-"));
    const url = `sqlite:${path.join(dir, "store.db")}`;
    const seed = await createStore(url);
    const security = createSecurity({ store: seed });
    await security.apiKeys.create({ tenant: "acme", scopes: ["responses"] });
    await seed.close();
    const adminKey = "dashboard-admin-key-for-this-test";
    const served = await createHoldfastApp({
      config: testServerConfig({ store: url }),
      env: { HOLDFAST_ADMIN_KEY: adminKey },
    });
    try {
      const cookie = await dashboardCookie(served, adminKey);
      const res = await served.app.inject({ url: "/ui/api/tenants", headers: { cookie } });
      assert.deepEqual(res.json(), { tenants: ["default", "acme"] });
      const sessions = await served.app.inject({ url: "/ui/api/sessions?tenant=acme", headers: { cookie } });
      assert.equal(sessions.statusCode, 200, sessions.body);
    } finally {
      await served.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("offers the tenant of a configured identity provider, whose users have no API key", async () => {
    const adminKey = "dashboard-admin-key-for-this-test";
    const provider = {
      issuer: "https://idp.example.com/",
      jwks_url: "https://idp.example.com/.well-known/jwks.json",
      audience: "holdfast-api",
      tenant: "idp-users",
    };
    const served = await createHoldfastApp({
      config: testServerConfig({ store: "memory:", file: { security: { oidc_providers: [provider] } } }),
      env: { HOLDFAST_ADMIN_KEY: adminKey },
    });
    try {
      const cookie = await dashboardCookie(served, adminKey);
      const res = await served.app.inject({ url: "/ui/api/tenants", headers: { cookie } });
      assert.deepEqual(res.json(), { tenants: ["default", "idp-users"] });
      const sessions = await served.app.inject({
        url: "/ui/api/sessions?tenant=idp-users",
        headers: { cookie },
      });
      assert.equal(sessions.statusCode, 200, sessions.body);
    } finally {
      await served.close();
    }
  });
});
