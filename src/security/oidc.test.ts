import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { createStore } from "../store/create-store.ts";
import { createAuthenticator } from "./authenticate.ts";
import { createSecurity } from "./create-security.ts";
import { InvalidTokenError } from "./errors.ts";
import { createOidcVerifier } from "./oidc.ts";

describe("external identity providers (OIDC)", () => {
  let server: Server;
  let jwksUrl: string;
  let signingKey: CryptoKey;
  let strangerKey: CryptoKey;
  let requests = 0;
  const ISSUER = "https://idp.test";

  before(async () => {
    const pair = await generateKeyPair("RS256");
    signingKey = pair.privateKey;
    strangerKey = (await generateKeyPair("RS256")).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "idp-1", alg: "RS256", use: "sig" };
    server = createServer((req, res) => {
      requests++;
      if (req.url === "/down.json") {
        res.writeHead(500).end("upstream trouble");
        return;
      }
      if (req.url === "/html.json") {
        res.writeHead(200, { "content-type": "text/html" }).end("<html>sign in</html>");
        return;
      }
      if (req.url === "/empty.json") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ nope: [] }));
        return;
      }
      if (req.url === "/close.json") {
        req.socket.destroy();
        return;
      }
      if (req.url === "/hang.json") return; // never answers; closed by closeAllConnections
      if (req.url !== "/jwks.json") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const sign = (claims: Record<string, unknown>, key = signingKey, kid = "idp-1") =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuer(ISSUER)
      .setAudience("holdfast-api")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);

  it("maps a valid provider token's sub to the owner in the configured tenant", async () => {
    const oidc = createOidcVerifier({
      providers: [{ issuer: ISSUER, jwksUrl, audience: "holdfast-api", tenant: "acme" }],
    });
    const auth = createAuthenticator({ oidc });
    const token = await sign({ sub: "user-42" });
    const principal = await auth.authenticate({ authorization: `Bearer ${token}` });
    assert.deepEqual(principal, {
      kind: "oidc",
      tenant: "acme",
      scopes: ["conversations:read", "conversations:write", "responses"],
      keyId: null,
      owner: "user-42",
      conversationId: null,
    });
    assert.ok(requests >= 1, "the JWKS was fetched from the test's server");
  });

  it("rejects wrong audience, foreign keys, missing sub, expired tokens and unknown issuers", async () => {
    const oidc = createOidcVerifier({
      providers: [{ issuer: ISSUER, jwksUrl, audience: "holdfast-api", tenant: "acme" }],
    });
    const wrongAud = await new SignJWT({ sub: "u" })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .setIssuer(ISSUER)
      .setAudience("someone-else")
      .setExpirationTime("5m")
      .sign(signingKey);
    await assert.rejects(oidc.verify(wrongAud), InvalidTokenError);
    await assert.rejects(oidc.verify(await sign({ sub: "u" }, strangerKey)), InvalidTokenError);
    await assert.rejects(oidc.verify(await sign({})), InvalidTokenError);
    await assert.rejects(oidc.verify(await sign({ sub: "u\u0000x" })), /control characters/);
    const expired = await new SignJWT({ sub: "u" })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .setIssuer(ISSUER)
      .setAudience("holdfast-api")
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(signingKey);
    await assert.rejects(oidc.verify(expired), InvalidTokenError);
    const unknown = await new SignJWT({ sub: "u" })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .setIssuer("https://other.test")
      .setAudience("holdfast-api")
      .setExpirationTime("5m")
      .sign(signingKey);
    await assert.rejects(oidc.verify(unknown), /not a configured identity provider/);
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${(await sign({ sub: "u" })).split(".")[1]}.`;
    await assert.rejects(oidc.verify(none), InvalidTokenError);
  });

  it("a JWKS that cannot be fetched is 503 unavailable with a retry hint, not 401", async () => {
    const base = jwksUrl.replace("/jwks.json", "");
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks.json`;
    await new Promise((resolve) => closed.close(resolve));
    const token = await sign({ sub: "u" });
    for (const url of ["down", "html", "empty", "close", "hang"]
      .map((p) => `${base}/${p}.json`)
      .concat(refused)) {
      const oidc = createOidcVerifier({
        providers: [{ issuer: ISSUER, jwksUrl: url, audience: "holdfast-api", tenant: "acme" }],
        jwksTimeoutMs: 200,
      });
      const auth = createAuthenticator({ oidc });
      await assert.rejects(auth.authenticate({ authorization: `Bearer ${token}` }), (error: unknown) => {
        const e = error as { code?: string; retryAfterSeconds?: number; message?: string };
        assert.equal(e.code, "unavailable", `${url}: ${e.message}`);
        assert.equal(e.retryAfterSeconds, 1);
        return true;
      });
    }
    // Reachable keys: a token they do not verify stays 401, an unknown key id included.
    const oidc = createOidcVerifier({
      providers: [{ issuer: ISSUER, jwksUrl, audience: "holdfast-api", tenant: "acme" }],
    });
    await assert.rejects(oidc.verify(await sign({ sub: "u" }, strangerKey)), InvalidTokenError);
    await assert.rejects(oidc.verify(await sign({ sub: "u" }, signingKey, "idp-unknown")), InvalidTokenError);
  });

  it("a provider's own jwksTimeoutMs bounds its key fetch, also through createSecurity (what serve uses)", async () => {
    const hang = jwksUrl.replace("/jwks.json", "/hang.json");
    const store = await createStore("memory:");
    try {
      const security = createSecurity({
        store,
        oidcProviders: [
          { issuer: ISSUER, jwksUrl: hang, audience: "holdfast-api", tenant: "acme", jwksTimeoutMs: 150 },
        ],
      });
      const token = await sign({ sub: "u" });
      const started = Date.now();
      await assert.rejects(
        security.authenticator.authenticate({ authorization: `Bearer ${token}` }),
        (error: Error & { code?: string }) => error.code === "unavailable",
      );
      // Not the 5 s default: the provider's 150 ms (plus scheduling slack on a busy machine).
      assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
    } finally {
      await store.close();
    }
    // 0 or a negative value would fail every fetch at once, hours would hang every request with it.
    const provider = { issuer: ISSUER, jwksUrl, audience: "holdfast-api", tenant: "acme" };
    for (const jwksTimeoutMs of [0, 99, 60_001, 1.5, Number.NaN, "5000" as unknown as number]) {
      const problem =
        /jwksTimeoutMs must be a whole number of milliseconds from 100 to 60000 \(default 5000\)/;
      assert.throws(
        () => createOidcVerifier({ providers: [{ ...provider, jwksTimeoutMs }] }),
        (error: Error & { code?: string }) =>
          error.code === "invalid_argument" &&
          error.message.startsWith("providers[0].jwksTimeoutMs") &&
          problem.test(error.message),
        `provider: ${jwksTimeoutMs}`,
      );
      assert.throws(
        () => createOidcVerifier({ providers: [provider], jwksTimeoutMs }),
        (error: Error & { code?: string }) =>
          error.code === "invalid_argument" &&
          error.message.startsWith("jwksTimeoutMs") &&
          problem.test(error.message),
        `verifier: ${jwksTimeoutMs}`,
      );
    }
  });

  it("log out everywhere voids the user's provider tokens too, on every instance", async () => {
    const store = await createStore("memory:");
    const providers = [{ issuer: ISSUER, jwksUrl, audience: "holdfast-api", tenant: "acme" }];
    const one = createSecurity({ store, oidcProviders: providers });
    const two = createSecurity({ store, oidcProviders: providers });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const before = await sign({ sub: "user-7" });
    const neighbour = await sign({ sub: "user-8" });
    assert.equal((await two.authenticator.authenticate(bearer(before))).owner, "user-7");
    await one.refreshTokens.logoutEverywhere("acme", "user-7");
    // `two` read user-7's revocation instant before the log-out: its cache lasts at most 1 s.
    await new Promise((resolve) => setTimeout(resolve, 1001));
    for (const instance of [one, two]) {
      await assert.rejects(instance.authenticator.authenticate(bearer(before)), /revoked/);
      assert.equal((await instance.authenticator.authenticate(bearer(neighbour))).owner, "user-8");
    }
    // A token the provider issues after the log-out (its `iat` is in whole seconds) is accepted.
    const later = await new SignJWT({ sub: "user-7" })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .setIssuer(ISSUER)
      .setAudience("holdfast-api")
      .setIssuedAt(Math.floor(Date.now() / 1000) + 1)
      .setExpirationTime("5m")
      .sign(signingKey);
    assert.equal((await two.authenticator.authenticate(bearer(later))).owner, "user-7");
    await store.close();
  });

  it("allows a provider's clock to run ahead by the clock tolerance (default 30 s, 0 turns it off)", async () => {
    const provider = { issuer: ISSUER, jwksUrl, audience: "holdfast-api", tenant: "acme" };
    const issued = Math.floor(Date.now() / 1000);
    const token = (claims: { exp: number; nbf?: number }) =>
      new SignJWT({ sub: "u", ...claims })
        .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
        .setIssuer(ISSUER)
        .setAudience("holdfast-api")
        .setIssuedAt(issued)
        .sign(signingKey);
    // Holdfast's clock 10 s behind the provider's: the token is "not yet valid" for 10 s...
    const early = await token({ nbf: issued + 10, exp: issued + 300 });
    // ...and 10 s past its expiry for Holdfast when the provider let it expire just now.
    const late = await token({ exp: issued - 10 });
    const clock = () => issued * 1000;
    const lenient = createOidcVerifier({ providers: [provider], clock });
    assert.equal((await lenient.verify(early)).owner, "u");
    assert.equal((await lenient.verify(late)).owner, "u");
    // Beyond the tolerance it is expired, as before.
    await assert.rejects(lenient.verify(await token({ exp: issued - 31 })), InvalidTokenError);
    const strict = createOidcVerifier({ providers: [{ ...provider, clockToleranceSeconds: 0 }], clock });
    await assert.rejects(strict.verify(early), InvalidTokenError);
    await assert.rejects(strict.verify(late), InvalidTokenError);
    const wide = createOidcVerifier({ providers: [{ ...provider, clockToleranceSeconds: 120 }], clock });
    assert.equal((await wide.verify(await token({ exp: issued - 100 }))).owner, "u");
    for (const clockToleranceSeconds of [-1, 301, 1.5, Number.NaN, "30" as unknown as number]) {
      assert.throws(
        () => createOidcVerifier({ providers: [{ ...provider, clockToleranceSeconds }] }),
        (error: Error & { code?: string }) =>
          error.code === "invalid_argument" &&
          /providers\[0\]\.clockToleranceSeconds must be a whole number of seconds from 0 to 300/.test(
            error.message,
          ),
        String(clockToleranceSeconds),
      );
    }
  });

  it("accepts a token whose aud holds any audience of the provider's list", async () => {
    const oidc = createOidcVerifier({
      providers: [{ issuer: ISSUER, jwksUrl, audience: ["holdfast-api", "api://holdfast"], tenant: "acme" }],
    });
    const forAudience = (aud: string | string[]) =>
      new SignJWT({ sub: "u" })
        .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
        .setIssuer(ISSUER)
        .setAudience(aud)
        .setExpirationTime("5m")
        .sign(signingKey);
    for (const aud of ["holdfast-api", "api://holdfast", ["someone-else", "api://holdfast"]]) {
      assert.equal((await oidc.verify(await forAudience(aud))).owner, "u", String(aud));
    }
    for (const aud of ["someone-else", ["someone-else", "api://other"]]) {
      await assert.rejects(oidc.verify(await forAudience(aud)), InvalidTokenError, String(aud));
    }
    // An empty list (or an empty entry) would accept no token at all: refused at construction.
    for (const audience of [[], ["holdfast-api", ""], [" "], [42 as unknown as string]]) {
      assert.throws(
        () => createOidcVerifier({ providers: [{ issuer: ISSUER, jwksUrl, audience, tenant: "acme" }] }),
        (error: Error & { code?: string }) =>
          error.code === "invalid_argument" &&
          /providers\[0\]\.audience is required: one non-empty string, or a non-empty list of them/.test(
            error.message,
          ),
        JSON.stringify(audience),
      );
    }
  });

  it("validates provider configuration at construction", () => {
    assert.throws(
      () => createOidcVerifier({ providers: [{ issuer: ISSUER, jwksUrl, audience: "", tenant: "acme" }] }),
      /providers\[0\]\.audience is required/,
    );
    assert.throws(
      () =>
        createOidcVerifier({
          providers: [{ issuer: ISSUER, jwksUrl, audience: "a", tenant: "acme", algorithms: ["HS256"] }],
        }),
      /HS256/,
    );
    // No algorithm at all: every token of the provider would be refused as 401.
    assert.throws(
      () =>
        createOidcVerifier({
          providers: [{ issuer: ISSUER, jwksUrl, audience: "a", tenant: "acme", algorithms: [] }],
        }),
      /providers\[0\]\.algorithms is empty/,
    );
    // Keys over plain http could be swapped in transit: https, or http on loopback only.
    for (const [url, refused] of [
      ["not a url", /providers\[0\]\.jwksUrl must be an absolute https URL/],
      [
        "http://idp.example.com/jwks.json",
        /providers\[0\]\.jwksUrl must be an https URL \(http only on a loopback host/,
      ],
      ["ftp://127.0.0.1/jwks.json", /providers\[0\]\.jwksUrl must be an https URL/],
    ] as const) {
      assert.throws(
        () =>
          createOidcVerifier({
            providers: [{ issuer: ISSUER, jwksUrl: url, audience: "a", tenant: "acme" }],
          }),
        (error: Error & { code?: string }) =>
          error.code === "invalid_argument" && refused.test(error.message),
        url,
      );
    }
    for (const url of [
      "https://idp.example.com/jwks.json",
      "http://localhost:8080/k",
      "http://[::1]:9/k",
      jwksUrl,
    ]) {
      createOidcVerifier({ providers: [{ issuer: ISSUER, jwksUrl: url, audience: "a", tenant: "acme" }] });
    }
    // Two providers for one issuer: the second would silently replace the first's keys and tenant.
    assert.throws(
      () =>
        createOidcVerifier({
          providers: [
            { issuer: ISSUER, jwksUrl, audience: "a", tenant: "acme" },
            { issuer: ISSUER, jwksUrl, audience: "b", tenant: "other" },
          ],
        }),
      /providers\[1\]\.issuer 'https:\/\/idp\.test' is already configured/,
    );
    // Its users are end users: `admin` would let them make API keys; no scope, pass no route.
    for (const [scopes, refused] of [
      [["responses", "admin"], /admin/],
      [[], /at least one scope/],
    ] as const) {
      assert.throws(
        () =>
          createOidcVerifier({
            providers: [{ issuer: ISSUER, jwksUrl, audience: "a", tenant: "acme", scopes }],
          }),
        refused,
      );
    }
  });

  it("refuses a provider with the issuer of Holdfast's own tokens, which would never be asked", async () => {
    const store = await createStore("memory:");
    try {
      for (const [issuer, option] of [
        ["holdfast", undefined],
        ["https://holdfast.example.com", "https://holdfast.example.com"],
      ] as const) {
        assert.throws(
          () =>
            createSecurity({
              store,
              ...(option ? { issuer: option } : {}),
              oidcProviders: [{ issuer, jwksUrl, audience: "a", tenant: "acme" }],
            }),
          new RegExp(`providers\\[0\\]\\.issuer '${issuer}' is the issuer of Holdfast's own access tokens`),
        );
      }
    } finally {
      await store.close();
    }
  });
});
