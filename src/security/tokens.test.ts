import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { base64url, SignJWT } from "jose";
import { createStore } from "../store/create-store.ts";
import { UnavailableError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import { createAccessTokens } from "./access-tokens.ts";
import { createAuthenticator } from "./authenticate.ts";
import { InvalidTokenError } from "./errors.ts";
import { createRefreshTokens } from "./refresh-tokens.ts";
import { createOwnerRevocations, ownerKey } from "./revocations.ts";
import { createSigningKeys } from "./signing-keys.ts";
import { createSystemRecords } from "./system-records.ts";
import { TEST_STORES } from "./test-support.ts";

const ISSUER = "https://holdfast.test";

/** One Holdfast instance: its own caches over the shared store. */
function instance(store: SessionStore, clock: { now: number }) {
  const records = createSystemRecords(store);
  const now = () => clock.now;
  const signingKeys = createSigningKeys({ records, clock: now });
  const revocations = createOwnerRevocations({ records, clock: now });
  const accessTokens = createAccessTokens({ signingKeys, revocations, issuer: ISSUER, clock: now });
  const refreshTokens = createRefreshTokens({ records, accessTokens, revocations, clock: now });
  return { signingKeys, revocations, accessTokens, refreshTokens };
}

for (const driver of TEST_STORES) {
  describe(`end-user tokens (${driver.name})`, () => {
    let store: SessionStore;
    let cleanup: () => Promise<void>;
    // Near real time: record expiry is enforced by the store on its own clock.
    const clock = { now: Date.now() };
    before(async () => {
      ({ store, cleanup } = await driver.open());
    });
    after(() => cleanup());

    it("mints EdDSA access tokens that verify to an owner principal", async () => {
      const a = instance(store, clock);
      const { token, expiresAt } = await a.accessTokens.mint("acme", {
        owner: "alice",
        conversationId: "conv_0123456789abcdef",
      });
      const [header] = token.split(".");
      assert.equal(JSON.parse(Buffer.from(header ?? "", "base64url").toString()).alg, "EdDSA");
      assert.equal(expiresAt, Math.floor(clock.now / 1000) + 900);
      const principal = await a.accessTokens.verify(token);
      assert.deepEqual(principal, {
        kind: "access_token",
        tenant: "acme",
        scopes: ["conversations:read", "conversations:write", "responses"],
        keyId: null,
        owner: "alice",
        conversationId: "conv_0123456789abcdef",
      });
      await assert.rejects(a.accessTokens.mint("acme", { owner: "alice", scopes: ["admin"] }), /admin/);
      const jwks = await a.signingKeys.jwks("acme");
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0]?.crv, "Ed25519");
      assert.equal(jwks.keys[0]?.d, undefined, "JWKS must not publish the private part");
    });

    it("checks exp, iss, aud and the signing tenant", async () => {
      const a = instance(store, clock);
      const { token } = await a.accessTokens.mint("acme", { owner: "alice", ttlSeconds: 60 });
      const fresh = (await a.accessTokens.mint("acme", { owner: "alice", ttlSeconds: 60 })).token;
      await a.accessTokens.verify(token); // now in the verified-token cache: expiry must still apply
      clock.now += 91_000; // past the 60 s lifetime and the 30 s clock tolerance
      await assert.rejects(a.accessTokens.verify(fresh), /expired/);
      await assert.rejects(a.accessTokens.verify(token), /expired/);
      clock.now -= 91_000;
      const other = createAccessTokens({
        signingKeys: a.signingKeys,
        revocations: a.revocations,
        issuer: "https://evil.test",
        clock: () => clock.now,
      });
      const foreign = (await other.mint("acme", { owner: "alice" })).token;
      await assert.rejects(a.accessTokens.verify(foreign), InvalidTokenError);
      const otherAud = createAccessTokens({
        signingKeys: a.signingKeys,
        revocations: a.revocations,
        issuer: ISSUER,
        audience: "elsewhere",
        clock: () => clock.now,
      });
      await assert.rejects(
        a.accessTokens.verify((await otherAud.mint("acme", { owner: "a" })).token),
        InvalidTokenError,
      );
      // A token signed by tenant B's key cannot claim tenant A: the payload is swapped, the signature breaks.
      const b = (await a.accessTokens.mint("beta", { owner: "alice" })).token.split(".");
      const claims = JSON.parse(Buffer.from(b[1] ?? "", "base64url").toString());
      const forged = [b[0], base64url.encode(JSON.stringify({ ...claims, tenant: "acme" })), b[2]].join(".");
      await assert.rejects(a.accessTokens.verify(forged), InvalidTokenError);
    });

    it("rejects alg:none and HS256 forged with the public key (algorithm confusion)", async () => {
      const a = instance(store, clock);
      const { token } = await a.accessTokens.mint("acme", { owner: "alice" });
      const [header, payload] = token.split(".");
      const kid = JSON.parse(Buffer.from(header ?? "", "base64url").toString()).kid;
      const none = `${base64url.encode(JSON.stringify({ alg: "none", kid }))}.${payload}.`;
      await assert.rejects(a.accessTokens.verify(none), InvalidTokenError);
      const publicJwk = (await a.signingKeys.jwks("acme")).keys[0];
      assert.ok(publicJwk?.x);
      const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
      for (const secret of [Buffer.from(publicJwk.x, "base64url"), Buffer.from(JSON.stringify(publicJwk))]) {
        const hs = await new SignJWT(claims)
          .setProtectedHeader({ alg: "HS256", kid })
          .sign(new Uint8Array(secret));
        await assert.rejects(a.accessTokens.verify(hs), InvalidTokenError);
      }
    });

    it("signs with configured keys and rotates generated ones, old kids still verifying", async () => {
      const { exportJWK, generateKeyPair } = await import("jose");
      const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
      const jwk = { ...(await exportJWK(privateKey)), kid: "cfg-1" };
      const records = createSystemRecords(store);
      const now = () => clock.now;
      const signingKeys = createSigningKeys({ records, configured: { fixed: [jwk] }, clock: now });
      const revocations = createOwnerRevocations({ records, clock: now });
      const tokens = createAccessTokens({ signingKeys, revocations, issuer: ISSUER, clock: now });
      const { token } = await tokens.mint("fixed", { owner: "o" });
      assert.equal(JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()).kid, "cfg-1");
      assert.equal((await tokens.verify(token)).tenant, "fixed");
      assert.deepEqual(
        (await signingKeys.jwks("fixed")).keys.map((k) => [k.kid, k.d]),
        [["cfg-1", undefined]],
      );
      await assert.rejects(signingKeys.rotate("fixed"), /configuration/);
      assert.throws(() => createSigningKeys({ records, configured: { bad: [{ kty: "RSA" }] } }), /Ed25519/);
      const before = (await tokens.mint("rotating", { owner: "o" })).token;
      const newKid = await signingKeys.rotate("rotating");
      const after = (await tokens.mint("rotating", { owner: "o" })).token;
      assert.equal(JSON.parse(Buffer.from(after.split(".")[0] ?? "", "base64url").toString()).kid, newKid);
      assert.equal((await tokens.verify(before)).tenant, "rotating");
      assert.equal((await signingKeys.jwks("rotating")).keys.length, 2);
    });

    it("rotates refresh tokens and revokes the whole family on reuse", async () => {
      const a = instance(store, clock);
      const first = await a.refreshTokens.issue("acme", { owner: "carol" });
      assert.match(first.refreshToken, /^hfr_[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/);
      const second = await a.refreshTokens.refresh(first.refreshToken);
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.equal((await a.accessTokens.verify(second.accessToken)).owner, "carol");
      const third = await a.refreshTokens.refresh(second.refreshToken);
      // The thief replays an old token: the family dies, including the legitimate newest token.
      await assert.rejects(a.refreshTokens.refresh(first.refreshToken), /reuse detected/);
      await assert.rejects(a.refreshTokens.refresh(third.refreshToken), /revoked/);
      // Another sign-in of the same owner is unaffected.
      const other = await a.refreshTokens.issue("acme", { owner: "carol" });
      await a.refreshTokens.refresh(other.refreshToken);
      await assert.rejects(a.refreshTokens.refresh("hfr_nope"), InvalidTokenError);
    });

    it("treats two concurrent uses of one refresh token as reuse", async () => {
      const a = instance(store, clock);
      const b = instance(store, clock);
      const pair = await a.refreshTokens.issue("acme", { owner: "dora" });
      const results = await Promise.allSettled([
        a.refreshTokens.refresh(pair.refreshToken),
        b.refreshTokens.refresh(pair.refreshToken),
      ]);
      assert.ok(results.some((r) => r.status === "rejected"));
      for (const r of results) {
        if (r.status === "fulfilled")
          await assert.rejects(a.refreshTokens.refresh(r.value.refreshToken), InvalidTokenError);
      }
    });

    it("logs out everywhere: families revoked and access tokens void on every instance within a second", async () => {
      const a = instance(store, clock);
      const b = instance(store, clock);
      const s1 = await a.refreshTokens.issue("acme", { owner: "erin" });
      const s2 = await b.refreshTokens.issue("acme", { owner: "erin" });
      const bystander = await a.refreshTokens.issue("acme", { owner: "frank" });
      assert.equal((await b.accessTokens.verify(s1.accessToken)).owner, "erin"); // b caches notBefore = 0
      clock.now += 10;
      assert.deepEqual(await a.refreshTokens.logoutEverywhere("acme", "erin"), { families: 2 });
      await assert.rejects(a.accessTokens.verify(s1.accessToken), /revoked/);
      clock.now += 1000; // b's notBefore cache (TTL ≤ 1 s) has expired
      await assert.rejects(b.accessTokens.verify(s1.accessToken), /revoked/);
      await assert.rejects(b.accessTokens.verify(s2.accessToken), /revoked/);
      await assert.rejects(b.refreshTokens.refresh(s1.refreshToken), /revoked/);
      await assert.rejects(a.refreshTokens.refresh(s2.refreshToken), /revoked/);
      await b.accessTokens.verify(bystander.accessToken);
      const fresh = await b.refreshTokens.issue("acme", { owner: "erin" });
      assert.equal((await a.accessTokens.verify(fresh.accessToken)).owner, "erin");
      await a.refreshTokens.refresh(fresh.refreshToken);
    });

    it("refuses an empty conversation or a control character in the owner instead of minting", async () => {
      const a = instance(store, clock);
      // "" is not "no conversation": it used to mint a token that reached every conversation.
      for (const bad of [{ owner: "ivy", conversationId: "" }, { owner: "i\u0000vy" }, { owner: "i\nvy" }]) {
        const refused = /session id|control characters|NUL characters/;
        await assert.rejects(a.accessTokens.mint("acme", bad), refused);
        await assert.rejects(a.refreshTokens.issue("acme", bad), refused);
      }
      await assert.rejects(a.refreshTokens.issue("_hf_api_key", { owner: "ivy" }), /reserved/);
      const open = await a.accessTokens.mint("acme", { owner: "ivy", conversationId: null });
      assert.equal((await a.accessTokens.verify(open.token)).conversationId, null);
    });

    it("refuses an empty scope list instead of minting a token no route accepts", async () => {
      const a = instance(store, clock);
      // Its `scope` claim "" read back as the unknown scope '': every request was 401 invalid_token.
      for (const scopes of [[], [""]]) {
        await assert.rejects(a.accessTokens.mint("acme", { owner: "ivy", scopes }), /scope/);
        await assert.rejects(a.refreshTokens.issue("acme", { owner: "ivy", scopes }), /scope/);
      }
      const families = createSystemRecords(store).list("refresh_family", { index: ownerKey("acme", "ivy") });
      for await (const family of families) assert.fail(`a sign-in was written: ${JSON.stringify(family)}`);
      const narrow = await a.accessTokens.mint("acme", { owner: "ivy", scopes: ["conversations:read"] });
      assert.deepEqual((await a.accessTokens.verify(narrow.token)).scopes, ["conversations:read"]);
    });

    it("voids tokens and sign-ins issued in the same millisecond as log out everywhere", async () => {
      const a = instance(store, clock);
      clock.now += 5;
      const { token } = await a.accessTokens.mint("acme", { owner: "jay" });
      const session = await a.refreshTokens.issue("acme", { owner: "jay" });
      await a.accessTokens.verify(token); // cached as verified
      await a.revocations.revokeAll("acme", "jay"); // same clock.now as the mint
      await assert.rejects(a.accessTokens.verify(token), /revoked/);
      await assert.rejects(a.accessTokens.verify(session.accessToken), /revoked/);
      await assert.rejects(a.refreshTokens.refresh(session.refreshToken), /revoked/);
      clock.now += 1;
      const later = await a.refreshTokens.issue("acme", { owner: "jay" });
      assert.equal((await a.accessTokens.verify(later.accessToken)).owner, "jay");
    });

    it("authenticates bearer headers by credential shape", async () => {
      const a = instance(store, clock);
      const auth = createAuthenticator({ accessTokens: a.accessTokens });
      const { token } = await a.accessTokens.mint("acme", { owner: "gail" });
      assert.equal((await auth.authenticate({ authorization: `Bearer ${token}` })).owner, "gail");
      await assert.rejects(
        auth.authenticate({}),
        (e: unknown) => (e as { code: string }).code === "invalid_api_key",
      );
      await assert.rejects(
        auth.authenticate({ authorization: "Basic abc" }),
        /does not use the Bearer scheme/,
      );
      await assert.rejects(
        auth.authenticate({ authorization: `Bearer hf_${"a".repeat(43)}` }),
        /Incorrect API key/,
      );
      await assert.rejects(auth.authenticate({ authorization: "Bearer a.b.c" }), InvalidTokenError);
    });
  });
}

describe("signing-key cache", () => {
  it("stays bounded however many tenants forged tokens claim", async () => {
    const store = await createStore("memory:");
    const records = createSystemRecords(store);
    let reads = 0;
    const counted = {
      ...records,
      get: ((kind, key) => {
        reads++;
        return records.get(kind, key);
      }) as typeof records.get,
    };
    const keys = createSigningKeys({ records: counted, maxCachedTenants: 2 });
    const clock = { now: Date.now() };
    const revocations = createOwnerRevocations({ records, clock: () => clock.now });
    const tokens = createAccessTokens({ signingKeys: keys, revocations, issuer: ISSUER });
    const { token } = await tokens.mint("acme", { owner: "kim" });
    // Tokens claiming tenants that have no keys: each one is a cache entry until evicted.
    const [header, payload] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    for (const tenant of ["t1", "t2", "t3"]) {
      const forged = `${header}.${base64url.encode(JSON.stringify({ ...claims, tenant }))}.AAAA`;
      await assert.rejects(tokens.verify(forged), InvalidTokenError);
    }
    reads = 0;
    await keys.active("acme"); // acme was evicted by t2 and t3: read again
    assert.equal(reads, 1);
    reads = 0;
    await keys.active("acme");
    assert.equal(reads, 0, "a tenant in the cache costs no read");
    await store.close();
  });
});

describe("access-token verification over a failing store", () => {
  it("is 503 unavailable, not 401 invalid_token, when the signing keys cannot be read", async () => {
    const store = await createStore("memory:");
    let failure: Error | null = null;
    // The store answers until told to fail; then every read throws as a driver would.
    const flaky = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (failure && (name === "get" || name === "list")) return Promise.reject(failure);
          return value.apply(target, args);
        };
      },
    });
    const clock = { now: Date.now() };
    const { token } = await instance(flaky, clock).accessTokens.mint("acme", { owner: "zoe" });
    for (const thrown of [new Error("ECONNREFUSED 127.0.0.1:5432"), new UnavailableError("Store is down.")]) {
      failure = thrown;
      // A fresh instance: nothing cached, so verification must read the tenant's keys.
      const error = await instance(flaky, clock)
        .accessTokens.verify(token)
        .then(
          () => assert.fail("verified without its keys"),
          (e: unknown) => e,
        );
      assert.ok(!(error instanceof InvalidTokenError), `a store failure became ${String(error)}`);
      assert.equal((error as { code?: string }).code, "unavailable");
      assert.equal((error as { fault?: string }).fault, "system", "the server's fault: a 5xx");
    }
    failure = null;
    assert.equal((await instance(flaky, clock).accessTokens.verify(token)).owner, "zoe");
    await store.close();
  });
});
