import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SessionStore } from "../store/types.ts";
import { createApiKeys } from "./api-keys.ts";
import { InvalidApiKeyError, PermissionDeniedError } from "./errors.ts";
import { requireScope, requireSessionAccess } from "./scopes.ts";
import { createSystemRecords, isReservedTenant, systemRecordId } from "./system-records.ts";
import { createTenantRegistry } from "./tenants.ts";
import { TEST_STORES } from "./test-support.ts";

const code = (c: string) => (error: unknown) => (error as { code?: string }).code === c;

for (const driver of TEST_STORES) {
  describe(`API keys and tenants (${driver.name})`, () => {
    let store: SessionStore;
    let cleanup: () => Promise<void>;
    const clock = { now: Date.UTC(2026, 0, 1) };
    before(async () => {
      ({ store, cleanup } = await driver.open());
    });
    after(() => cleanup());
    const keys = () =>
      createApiKeys({ records: createSystemRecords(store), clock: () => clock.now, cacheTtlMs: 0 });

    it("creates keys stored only as hashes and authenticates them", async () => {
      const api = keys();
      const { secret, key } = await api.create({
        tenant: "acme",
        scopes: ["conversations:read", "responses"],
        name: "ci",
      });
      assert.match(secret, /^hf_[A-Za-z0-9_-]{43}$/);
      assert.match(key.keyId, /^key_[0-9a-f]{24}$/);
      assert.equal(key.prefix, `${secret.slice(0, 8)}…`);
      const raw = await store.get("_hf_api_key", systemRecordId("api_key", key.keyId));
      assert.ok(!JSON.stringify(raw).includes(secret), "the secret must not be stored");
      assert.ok(!JSON.stringify(raw).includes(secret.slice(3)), "not even without its prefix");
      const principal = await api.authenticate(secret);
      assert.deepEqual(principal, {
        kind: "api_key",
        tenant: "acme",
        scopes: ["conversations:read", "responses"],
        keyId: key.keyId,
        owner: null,
        conversationId: null,
      });
      requireScope(principal, "responses");
      assert.throws(() => requireScope(principal, "conversations:write"), PermissionDeniedError);
      assert.throws(() => requireScope(principal, "conversations:write"), code("permission_denied"));
    });

    it("rejects unknown, malformed, revoked and expired keys with invalid_api_key", async () => {
      const api = keys();
      const { secret, key } = await api.create({
        tenant: "acme",
        scopes: "admin",
        expiresAt: clock.now + 60_000,
      });
      for (const bad of [
        "",
        "hf_short",
        `hf_${"A".repeat(43)}`,
        `${secret}x`,
        secret.replace(/.$/, (c) => (c === "A" ? "B" : "A")),
      ]) {
        await assert.rejects(api.authenticate(bad), InvalidApiKeyError);
      }
      const admin = await api.authenticate(secret);
      requireScope(admin, "conversations:write"); // admin implies every scope
      clock.now += 60_000;
      await assert.rejects(api.authenticate(secret), code("invalid_api_key"));
      clock.now -= 60_000;
      await api.revoke(key.keyId);
      await assert.rejects(api.authenticate(secret), code("invalid_api_key"));
      assert.equal((await api.get(key.keyId)).revoked, true);
    });

    it("lists a tenant's keys without secrets or hashes", async () => {
      const api = keys();
      const a = await api.create({ tenant: "list-a", scopes: ["responses"], name: "one" });
      await api.create({ tenant: "list-a", scopes: ["admin"], name: "two" });
      await api.create({ tenant: "list-b", scopes: ["admin"] });
      const listed = await api.list("list-a");
      assert.deepEqual(listed.map((k) => k.name).sort(), ["one", "two"]);
      assert.ok(!JSON.stringify(listed).includes(a.secret));
      assert.ok(!("hash" in (listed[0] ?? {})));
      assert.equal((await api.list("list-b")).length, 1);
    });

    it("rotates: new secret, old one revoked, or valid for a grace period", async () => {
      const api = keys();
      const first = await api.create({ tenant: "rot", scopes: ["responses"], name: "svc" });
      const second = await api.rotate(first.key.keyId);
      assert.notEqual(second.secret, first.secret);
      assert.deepEqual(
        [second.key.name, second.key.scopes, second.key.tenant],
        ["svc", ["responses"], "rot"],
      );
      await assert.rejects(api.authenticate(first.secret), InvalidApiKeyError);
      assert.equal((await api.get(first.key.keyId)).rotatedTo, second.key.keyId);
      const third = await api.rotate(second.key.keyId, { graceMs: 10_000 });
      assert.equal((await api.authenticate(second.secret)).keyId, second.key.keyId);
      assert.equal((await api.authenticate(third.secret)).keyId, third.key.keyId);
      clock.now += 10_000;
      await assert.rejects(api.authenticate(second.secret), InvalidApiKeyError);
      await assert.rejects(api.rotate(first.key.keyId), code("invalid_argument"));
    });

    it("a retried rotation during the grace period is refused, not a successor dying with the grace", async () => {
      const api = keys();
      const first = await api.create({ tenant: "rot2", scopes: ["responses"] });
      const second = await api.rotate(first.key.keyId, { graceMs: 60_000 });
      await assert.rejects(api.rotate(first.key.keyId, { graceMs: 60_000 }), /already rotated to/);
      assert.equal((await api.get(second.key.keyId)).expiresAt, null, "the successor keeps no expiry");
      assert.equal((await api.list("rot2")).length, 2, "no third key");
      // Concurrent rotations: one successor wins, the loser's key is revoked at once.
      const [a, b] = await Promise.allSettled([api.rotate(second.key.keyId), api.rotate(second.key.keyId)]);
      assert.equal([a, b].filter((r) => r.status === "fulfilled").length, 1);
      const live = (await api.list("rot2")).filter((k) => !k.revoked && k.rotatedTo === null);
      assert.equal(live.length, 1);
    });

    it("refuses to create a key that is already expired", async () => {
      const api = keys();
      for (const expiresAt of [clock.now, clock.now - 1, 1, Number.NaN, 1.5e12 + 0.5]) {
        await assert.rejects(api.create({ tenant: "exp", scopes: ["responses"], expiresAt }), /expiresAt/);
      }
      const ok = await api.create({ tenant: "exp", scopes: ["responses"], expiresAt: clock.now + 1000 });
      assert.equal((await api.authenticate(ok.secret)).keyId, ok.key.keyId);
      assert.equal((await api.list("exp")).length, 1);
    });

    it("refuses reserved tenants, unknown scopes and unknown key ids", async () => {
      const api = keys();
      await assert.rejects(api.create({ tenant: "_hf_keys", scopes: ["admin"] }), code("invalid_argument"));
      await assert.rejects(api.create({ tenant: "acme", scopes: ["root"] }), /Unknown scope 'root'/);
      await assert.rejects(api.create({ tenant: "acme", scopes: ["root"] }), code("invalid_argument"));
      await assert.rejects(api.revoke("key_000000000000000000000000"), code("not_found"));
      await assert.rejects(api.revoke("nope"), code("invalid_argument"));
    });

    it("keeps a tenant registry that rejects reserved names", async () => {
      const tenants = createTenantRegistry(createSystemRecords(store), { clock: () => clock.now });
      assert.equal(isReservedTenant("_hf_anything"), true);
      assert.equal(isReservedTenant("_HF"), true);
      assert.equal(isReservedTenant("acme"), false);
      await tenants.create("acme-reg", { displayName: "Acme" });
      await assert.rejects(tenants.create("acme-reg"), code("conflict"));
      await assert.rejects(tenants.create("_hf_x"), code("invalid_argument"));
      await assert.rejects(tenants.create("bad name"), code("invalid_argument"));
      assert.equal((await tenants.get("acme-reg")).displayName, "Acme");
      await assert.rejects(tenants.get("missing"), code("not_found"));
      assert.ok((await tenants.list()).some((t) => t.name === "acme-reg"));
    });
  });
}

describe("session access for token principals", () => {
  it("limits owners and conversation-scoped tokens", () => {
    const principal = {
      kind: "access_token" as const,
      tenant: "t",
      scopes: ["conversations:read" as const],
      keyId: null,
      owner: "alice",
      conversationId: "conv_aaaaaaaaaaaa",
    };
    requireSessionAccess(principal, { id: "conv_aaaaaaaaaaaa", owner: "alice" });
    assert.throws(
      () => requireSessionAccess(principal, { id: "conv_bbbbbbbbbbbb", owner: "alice" }),
      PermissionDeniedError,
    );
    // Another owner's session: not_found, as if it did not exist, even for its own conversation id.
    for (const id of ["conv_aaaaaaaaaaaa", "conv_bbbbbbbbbbbb"]) {
      assert.throws(
        () => requireSessionAccess(principal, { id, owner: "bob" }),
        (error: unknown) => (error as { code?: string }).code === "not_found",
      );
    }
  });
});

describe("scope per route", () => {
  it("maps methods and paths to scopes, denying unknown paths to all but admin", async () => {
    const { scopeForRoute } = await import("./scopes.ts");
    assert.equal(scopeForRoute("GET", "/v1/conversations/conv_1/items?limit=5"), "conversations:read");
    assert.equal(scopeForRoute("POST", "/v1/conversations"), "conversations:write");
    assert.equal(scopeForRoute("DELETE", "/v1/conversations/conv_1"), "conversations:write");
    assert.equal(scopeForRoute("POST", "/v1/responses"), "responses");
    assert.equal(scopeForRoute("GET", "/v1/responses/resp_1"), "responses");
    assert.equal(scopeForRoute("POST", "/v1/chat/completions"), "responses");
    assert.equal(scopeForRoute("GET", "/v1/models"), null);
    assert.equal(scopeForRoute("POST", "/v1/admin/keys"), "admin");
    assert.equal(scopeForRoute("GET", "/v1/conversationsX"), "admin");
    assert.equal(scopeForRoute("GET", "/metrics"), "admin");
  });
});
