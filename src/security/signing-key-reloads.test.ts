/**
 * Tokens naming an unknown signing key (`kid`) reload the tenant's keys from the store at most
 * once per `unknownKidReloadMs`, however many arrive, while a key rotated in on another instance
 * a moment ago still verifies here soon after.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { base64url } from "jose";
import { createServer } from "../server/create-server.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createAccessTokens } from "./access-tokens.ts";
import { createSecurity } from "./create-security.ts";
import { createOwnerRevocations } from "./revocations.ts";
import { createSigningKeys } from "./signing-keys.ts";
import { createSystemRecords } from "./system-records.ts";

/** The real store, counting reads of signing-key records. */
function countingKeyReads(store: SessionStore): { store: SessionStore; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, name) {
      if (name === "get") {
        return (tenant: string, ...rest: unknown[]) => {
          if (tenant === "_hf_signing_key") reads++;
          return (target.get as (...args: unknown[]) => unknown)(tenant, ...rest);
        };
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: wrapped, reads: () => reads };
}

/** `token` claiming another tenant (signature invalid, as for `withKid`). */
function withTenant(token: string, tenant: string): string {
  const [header, payload, signature] = token.split(".");
  const parsed = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
  return [header, base64url.encode(JSON.stringify({ ...parsed, tenant })), signature].join(".");
}

/** `token` with its header's kid replaced (the signature no longer matters: the key is looked up first). */
function withKid(token: string, kid: string): string {
  const [header, payload, signature] = token.split(".");
  const parsed = JSON.parse(Buffer.from(header ?? "", "base64url").toString());
  return [base64url.encode(JSON.stringify({ ...parsed, kid })), payload, signature].join(".");
}

describe("signing-key reloads for unknown kids", () => {
  let store: SessionStore;
  before(async () => {
    store = await createStore("memory:");
  });
  after(() => store.close());

  it("100 requests with made-up kids read the tenant's keys from the store at most once a second", async () => {
    const counted = countingKeyReads(store);
    const security = createSecurity({ store: counted.store });
    const app = await createServer({ store, security: { security, development: false } });
    const { token } = await security.accessTokens.mint("acme", { owner: "alice" });
    const ok = await app.inject({ url: "/v1/conversations", headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.statusCode, 200, ok.body);
    const baseline = counted.reads();
    const wave = () =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          app.inject({
            url: "/v1/conversations",
            headers: { authorization: `Bearer ${withKid(token, `sk_forged${i}_${Math.random()}`)}` },
          }),
        ),
      );
    for (const res of await wave()) {
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json().error.code, "invalid_token");
    }
    assert.ok(counted.reads() - baseline <= 1, `${counted.reads() - baseline} reads for one wave`);
    await wave();
    assert.ok(counted.reads() - baseline <= 2, `${counted.reads() - baseline} reads for two waves`);
    // A tenant never seen is read once: that read began after the token arrived, so it is final.
    const beforeTenants = counted.reads();
    const forgedTenants = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.inject({
          url: "/v1/conversations",
          headers: { authorization: `Bearer ${withTenant(token, `forged-${i}`)}` },
        }),
      ),
    );
    assert.deepEqual(new Set(forgedTenants.map((r) => r.statusCode)), new Set([401]));
    assert.equal(counted.reads() - beforeTenants, 20);
    // The genuine key still verifies, from the cache.
    const again = await app.inject({
      url: "/v1/conversations",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(again.statusCode, 200, again.body);
    await app.close();
  });

  it("a key rotated in on another instance a moment ago verifies here within the reload interval", async () => {
    const instance = () => {
      const records = createSystemRecords(store);
      const signingKeys = createSigningKeys({ records });
      const revocations = createOwnerRevocations({ records });
      return { signingKeys, tokens: createAccessTokens({ signingKeys, revocations, issuer: "holdfast" }) };
    };
    const a = instance();
    const b = instance();
    const first = (await a.tokens.mint("globex", { owner: "bob" })).token;
    assert.equal((await b.tokens.verify(first)).owner, "bob", "b has loaded globex's keys");
    await a.signingKeys.rotate("globex");
    const rotated = (await a.tokens.mint("globex", { owner: "bob" })).token;
    const started = performance.now();
    // b read the keys just before the rotation: it waits for its next reload, then verifies.
    const results = await Promise.all([b.tokens.verify(rotated), b.tokens.verify(rotated)]);
    assert.deepEqual(
      results.map((p) => p.owner),
      ["bob", "bob"],
    );
    assert.ok(performance.now() - started < 1_500, `verified after ${performance.now() - started} ms`);
  });

  it("a kid unknown to keys read longer than the interval ago reloads at once", async () => {
    const clock = { now: Date.now() };
    const records = createSystemRecords(store);
    const instance = () => {
      const signingKeys = createSigningKeys({ records, clock: () => clock.now });
      const revocations = createOwnerRevocations({ records, clock: () => clock.now });
      return {
        signingKeys,
        tokens: createAccessTokens({ signingKeys, revocations, issuer: "holdfast", clock: () => clock.now }),
      };
    };
    const a = instance();
    const b = instance();
    await b.tokens.verify((await a.tokens.mint("initech", { owner: "eve" })).token);
    clock.now += 5_000;
    await a.signingKeys.rotate("initech");
    const rotated = (await a.tokens.mint("initech", { owner: "eve" })).token;
    const started = performance.now();
    assert.equal((await b.tokens.verify(rotated)).owner, "eve");
    assert.ok(performance.now() - started < 500, `verified after ${performance.now() - started} ms`);
    assert.throws(
      () => createSigningKeys({ records: createSystemRecords(store), unknownKidReloadMs: -1 }),
      /unknownKidReloadMs/,
    );
  });
});
