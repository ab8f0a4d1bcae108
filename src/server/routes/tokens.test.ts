/** `/v1/auth/token` (rotating refresh) and `/v1/auth/logout` on a secure server. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createSecurity, type Security } from "../../security/create-security.ts";
import { createStore } from "../../store/create-store.ts";
import type { SessionStore } from "../../store/types.ts";
import { createServer } from "../create-server.ts";

interface TokenJson {
  error?: { code: string; param: string | null; message: string };
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  revoked_families?: number;
}

describe("token routes", () => {
  let store: SessionStore;
  let security: Security;
  let app: FastifyInstance;

  const call = async (
    url: string,
    payload: object,
    token?: string,
  ): Promise<{ status: number; json: TokenJson }> => {
    const res = await app.inject({
      method: "POST",
      url,
      payload,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.statusCode, json: JSON.parse(res.body) };
  };
  const list = async (token: string): Promise<number> =>
    (await app.inject({ url: "/v1/conversations", headers: { authorization: `Bearer ${token}` } }))
      .statusCode;

  before(async () => {
    store = await createStore("memory:");
    security = createSecurity({ store });
    app = await createServer({ store, security: { security, development: false } });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  test("refresh rotates: a new access and refresh token, the old refresh token is spent", async () => {
    const first = await security.refreshTokens.issue("acme", { owner: "ada" });
    const res = await call("/v1/auth/token", {
      grant_type: "refresh_token",
      refresh_token: first.refreshToken,
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.token_type, "Bearer");
    assert.notEqual(res.json.refresh_token, first.refreshToken);
    assert.ok((res.json.expires_in ?? 0) > 0 && (res.json.expires_in ?? 0) <= 900);
    assert.equal(await list(res.json.access_token ?? ""), 200);
    // The next rotation works from the new token.
    const next = await call("/v1/auth/token", {
      grant_type: "refresh_token",
      refresh_token: res.json.refresh_token,
    });
    assert.equal(next.status, 200);
  });

  test("reusing a spent refresh token is 401 and revokes the whole family", async () => {
    const first = await security.refreshTokens.issue("acme", { owner: "bob" });
    const rotated = await call("/v1/auth/token", {
      grant_type: "refresh_token",
      refresh_token: first.refreshToken,
    });
    const reuse = await call("/v1/auth/token", {
      grant_type: "refresh_token",
      refresh_token: first.refreshToken,
    });
    assert.equal(reuse.status, 401);
    assert.equal(reuse.json.error?.code, "invalid_token");
    const legit = await call("/v1/auth/token", {
      grant_type: "refresh_token",
      refresh_token: rotated.json.refresh_token,
    });
    assert.equal(legit.status, 401, "the family is revoked, even the legitimate latest token");
  });

  test("bad grants: unknown grant type 400, malformed token 401", async () => {
    const bad = await call("/v1/auth/token", { grant_type: "password", refresh_token: "x" });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error?.param, "grant_type");
    const malformed = await call("/v1/auth/token", { grant_type: "refresh_token", refresh_token: "nope" });
    assert.equal(malformed.status, 401);
  });

  test("logout revokes every token of the owner, and only theirs", async () => {
    const a = await security.refreshTokens.issue("acme", { owner: "cy" });
    const b = await security.refreshTokens.issue("acme", { owner: "cy" });
    const other = await security.refreshTokens.issue("acme", { owner: "dee" });
    // The revocation instant has millisecond resolution: let the clock move past the mint.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await call("/v1/auth/logout", {}, a.accessToken);
    assert.equal(res.status, 200);
    assert.equal(res.json.revoked_families, 2);
    assert.equal(await list(a.accessToken), 401);
    const refreshB = await call("/v1/auth/token", {
      grant_type: "refresh_token",
      refresh_token: b.refreshToken,
    });
    assert.equal(refreshB.status, 401);
    assert.equal(await list(other.accessToken), 200);
  });

  test("logout needs a credential; an end-user token cannot log out someone else", async () => {
    assert.equal((await call("/v1/auth/logout", {})).status, 401);
    const a = await security.refreshTokens.issue("acme", { owner: "eve" });
    assert.equal((await call("/v1/auth/logout", { owner: "frank" }, a.accessToken)).status, 403);
  });

  test("a conversation-scoped token cannot log its user out everywhere", async () => {
    const signIn = await security.refreshTokens.issue("acme", { owner: "gus" });
    const scoped = await security.accessTokens.mint("acme", {
      owner: "gus",
      conversationId: "conv_0123456789abcdef",
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await call("/v1/auth/logout", {}, scoped.token);
    assert.equal(res.status, 403);
    assert.equal(res.json.error?.code, "permission_denied");
    assert.match(res.json.error?.message ?? "", /conversation-scoped token/);
    assert.equal(await list(signIn.accessToken), 200, "the user's sign-in is untouched");
  });
});
