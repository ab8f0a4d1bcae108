import assert from "node:assert/strict";
import crypto from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, mock, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { createServer } from "../server/create-server.ts";
import { handleError } from "../server/errors.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { registerDashboard } from "./server.ts";
import { type Seeded, seedDashboardStore } from "./test-seed.ts";

const KEY = "admin-key-0123456789abcdef";

function cookieOf(setCookie: string | string[] | undefined): string {
  const value = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  assert.ok(value, "a cookie is set");
  return value.split(";")[0]!;
}

describe("dashboard API", () => {
  let store: SessionStore;
  let app: FastifyInstance;
  let seeded: Seeded;
  let dist: string;

  before(async () => {
    store = await createStore("memory:");
    seeded = await seedDashboardStore(store);
    dist = await mkdtemp(join(tmpdir(), "holdfast-ui-"));
    await writeFile(join(dist, "index.html"), "<!doctype html><title>Holdfast</title>");
    app = Fastify();
    // The error mapping createServer installs: dashboard routes throw typed errors like every route.
    app.setErrorHandler(handleError);
    registerDashboard(app, { store, adminKey: KEY, host: "0.0.0.0", distDir: dist, env: {} });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await store.close();
    await rm(dist, { recursive: true, force: true });
  });

  async function signIn(): Promise<{ cookie: string; csrf: string }> {
    const res = await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
    assert.equal(res.statusCode, 200);
    return { cookie: cookieOf(res.headers["set-cookie"]), csrf: res.json().csrfToken };
  }

  test("sign-in: wrong key refused, right key gives a strict HttpOnly Secure cookie", async () => {
    assert.equal((await app.inject({ url: "/ui/api/sessions" })).statusCode, 401);
    const wrong = await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: "nope" } });
    assert.equal(wrong.statusCode, 401);
    const res = await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
    const header = String(res.headers["set-cookie"]);
    assert.match(header, /HttpOnly/);
    assert.match(header, /SameSite=Strict/);
    assert.match(header, /Secure/, "inject does not come from a loopback socket");
    assert.equal(res.headers["content-security-policy"]?.toString().includes("default-src 'self'"), true);
  });

  test("sign-in: a body that is not {key: string} is 400 naming it, and no failed attempt", async () => {
    const remoteAddress = "198.51.100.77";
    for (const payload of ["nope", [KEY], { key: 42 }, {}, { key: KEY, extra: 1 }]) {
      const res = await app.inject({
        method: "POST",
        url: "/ui/api/session",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify(payload),
        remoteAddress,
      });
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
      assert.equal(res.json().error.code, "invalid_argument");
      assert.match(res.json().error.param, /^(body|key|extra)$/);
    }
    // Ten bad bodies later, the address has all its attempts left: the key still signs in.
    for (let i = 0; i < 10; i++) {
      await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: 1 }, remoteAddress });
    }
    const res = await app.inject({
      method: "POST",
      url: "/ui/api/session",
      payload: { key: KEY },
      remoteAddress,
    });
    assert.equal(res.statusCode, 200, res.body);
  });

  test("sign-in: failed attempts are limited per client address, then 429 with Retry-After", async () => {
    const attempt = (key: string, remoteAddress: string) =>
      app.inject({ method: "POST", url: "/ui/api/session", payload: { key }, remoteAddress });
    // Successful sign-ins do not count.
    for (let i = 0; i < 15; i++) assert.equal((await attempt(KEY, "198.51.100.1")).statusCode, 200);
    for (let i = 0; i < 10; i++) assert.equal((await attempt(`guess-${i}`, "198.51.100.2")).statusCode, 401);
    const limited = await attempt("guess-10", "198.51.100.2");
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, "rate_limit_exceeded");
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
    assert.equal((await attempt(KEY, "198.51.100.2")).statusCode, 429, "locked out, even with the key");
    assert.equal((await attempt(KEY, "198.51.100.3")).statusCode, 200, "other addresses are not");
  });

  test("the CSRF token is compared in constant time", async () => {
    const { cookie, csrf } = await signIn();
    const compared: Buffer[][] = [];
    const spy = mock.method(crypto, "timingSafeEqual", (a: Buffer, b: Buffer) => {
      compared.push([Buffer.from(a), Buffer.from(b)]);
      return a.length === b.length && a.equals(b);
    });
    syncBuiltinESMExports();
    try {
      // Signing out of a live session is a write that needs the token, and changes no data.
      const res = await app.inject({
        method: "DELETE",
        url: "/ui/api/session",
        headers: { cookie, "x-csrf-token": csrf },
      });
      assert.equal(res.statusCode, 200, res.body);
    } finally {
      spy.mock.restore();
      syncBuiltinESMExports();
    }
    const token = Buffer.from(csrf);
    assert.ok(
      compared.some((pair) => pair.some((b) => b.equals(token))),
      "the CSRF header went through timingSafeEqual",
    );
  });

  test("sessions list, filters and one session with transcript, window and turns", async () => {
    const { cookie } = await signIn();
    const list = await app.inject({ url: "/ui/api/sessions?owner=alice", headers: { cookie } });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list.json().data.map((s: { id: string }) => s.id),
      [seeded.chatId],
    );
    const idle = await app.inject({ url: "/ui/api/sessions?idleFor=1", headers: { cookie } });
    assert.equal(idle.json().data.length, 0, "every seeded session was active within the hour");
    const recent = await app.inject({
      url: "/ui/api/sessions?activeWithin=1&limit=200",
      headers: { cookie },
    });
    assert.equal(recent.json().data.length, seeded.sessionIds.length);
    const paged = await app.inject({ url: "/ui/api/sessions?limit=5", headers: { cookie } });
    assert.equal(paged.json().data.length, 5);
    assert.ok(paged.json().nextCursor);
    const one = await app.inject({
      url: `/ui/api/sessions/${seeded.chatId}`,
      headers: { cookie },
    });
    assert.equal(one.statusCode, 200);
    const body = one.json();
    const kinds = body.entries.map((e: { kind: string }) => e.kind);
    assert.ok(kinds.includes("tool_call") && kinds.includes("tool_output") && kinds.includes("summary"));
    assert.equal(body.turns.length, 2);
    assert.equal(body.turns[0].costUsd, 0.0012);
    // The context engine's window for the latest turn's model: the summary stands in for #2–#5.
    assert.equal(body.window.source, "engine");
    assert.equal(body.window.model, "claude-sonnet-4-5");
    assert.equal(body.window.summaryUsed, true);
    assert.deepEqual(body.window.seqs, [1, 7, 8, 9]);
    const plain = await app.inject({
      url: `/ui/api/sessions/${seeded.chatId}?model=no-such-model&windowTokens=50`,
      headers: { cookie },
    });
    assert.equal(plain.json().window.source, "store");
    assert.match(plain.json().window.note, /not in the catalog/);
    const search = await app.inject({ url: `/ui/api/sessions?q=${seeded.forkId}`, headers: { cookie } });
    assert.equal(search.json().data[0].forkParent.sessionId, seeded.chatId);
  });

  test("writes need the CSRF token", async () => {
    const { cookie, csrf } = await signIn();
    const url = `/ui/api/sessions/${seeded.chatId}/fork`;
    const denied = await app.inject({ method: "POST", url, headers: { cookie }, payload: {} });
    assert.equal(denied.statusCode, 403);
    const ok = await app.inject({
      method: "POST",
      url,
      headers: { cookie, "x-csrf-token": csrf },
      payload: {},
    });
    assert.equal(ok.statusCode, 200);
    const forkId = ok.json().session.id;
    const del = await app.inject({
      method: "DELETE",
      url: `/ui/api/sessions/${forkId}`,
      headers: { cookie, "x-csrf-token": csrf },
    });
    assert.equal(del.statusCode, 200);
    assert.equal(
      (await app.inject({ url: `/ui/api/sessions/${forkId}`, headers: { cookie } })).statusCode,
      404,
    );
  });

  test("usage, upstreams, cleanup, export and sign-out", async () => {
    const { cookie, csrf } = await signIn();
    const usage = (await app.inject({ url: "/ui/api/usage?days=30", headers: { cookie } })).json();
    const models = new Set(usage.points.map((p: { model: string }) => p.model));
    assert.ok(models.has("gpt-4o-mini") && models.has("claude-sonnet-4-5"));
    assert.equal(usage.topSessions[0].id, seeded.chatId);
    assert.equal((await app.inject({ url: "/ui/api/upstreams", headers: { cookie } })).statusCode, 200);
    assert.equal((await app.inject({ url: "/ui/api/cleanup", headers: { cookie } })).json().available, false);
    const exported = await app.inject({
      url: `/ui/api/sessions/${seeded.chatId}/export`,
      headers: { cookie },
    });
    assert.equal(exported.statusCode, 200);
    assert.ok(exported.body.includes("Lisbon"));
    const out = await app.inject({
      method: "DELETE",
      url: "/ui/api/session",
      headers: { cookie, "x-csrf-token": csrf },
    });
    assert.equal(out.statusCode, 200);
    assert.equal((await app.inject({ url: "/ui/api/sessions", headers: { cookie } })).statusCode, 401);
    // The revoked cookie with anything appended is not a fresh, unrevoked session.
    for (const variant of [`${cookie}.x`, `${cookie}.`, `${cookie}..`]) {
      const res = await app.inject({ url: "/ui/api/sessions", headers: { cookie: variant } });
      assert.equal(res.statusCode, 401, variant);
      const state = await app.inject({ url: "/ui/api/session", headers: { cookie: variant } });
      assert.equal(state.json().signedIn, false, variant);
    }
  });

  test("sign-out needs the CSRF token of a live session and always clears the cookie", async () => {
    const { cookie, csrf } = await signIn();
    const signOut = (headers: Record<string, string>) =>
      app.inject({ method: "DELETE", url: "/ui/api/session", headers });
    const forged = await signOut({ cookie, "x-csrf-token": "wrong" });
    assert.equal(forged.statusCode, 403);
    assert.equal(forged.json().error.code, "permission_denied");
    assert.equal(forged.headers["set-cookie"], undefined, "a forged sign-out changes nothing");
    assert.equal((await signOut({ cookie, "x-csrf-token": csrf })).statusCode, 200);
    // The cookie is now revoked (or expired, or garbage): signing out again still clears it.
    for (const stale of [cookie, "holdfast_ui=1.2.3", ""]) {
      const again = await signOut(stale ? { cookie: stale } : {});
      assert.equal(again.statusCode, 200, again.body);
      assert.match(
        String(again.headers["set-cookie"]),
        /^holdfast_ui=; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=0/,
      );
    }
  });

  test("API answers, errors and exports are never cached and carry the security headers", async () => {
    const { cookie } = await signIn();
    const urls = [
      "/ui/api/session",
      "/ui/api/sessions",
      `/ui/api/sessions/${seeded.chatId}`,
      `/ui/api/sessions/${seeded.chatId}/export`,
      "/ui/api/usage",
      "/ui/api/cleanup",
      "/ui/api/nope",
      "/ui/api/sessions?tenant=other",
    ];
    for (const url of urls) {
      for (const headers of [{ cookie }, {}]) {
        const res = await app.inject({ url, headers });
        assert.equal(res.headers["cache-control"], "no-store", `${url} ${res.statusCode}`);
        assert.equal(res.headers["x-content-type-options"], "nosniff", url);
        assert.equal(res.headers["x-frame-options"], "DENY", url);
        assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/, url);
      }
    }
    const shell = await app.inject({ url: "/ui/" });
    assert.equal(shell.headers["cache-control"], "no-cache");
    assert.match(String(shell.headers["content-security-policy"]), /script-src 'self';/);
    assert.equal(shell.headers["referrer-policy"], "no-referrer");
  });

  test("static files: encoded traversal, backslashes and NUL never leave the built folder", async () => {
    for (const url of [
      "/ui/..%2f..%2fetc/passwd",
      "/ui/%2e%2e/%2e%2e/etc/passwd",
      "/ui/assets/..%2f..%2f..%2fpackage.json",
      "/ui/assets/..%5c..%5cpackage.json",
      "/ui/assets/%00.js",
      "/ui/assets/x.js%00.html",
      "/ui/..%5c..%5c..%5cetc%5cpasswd",
    ]) {
      const res = await app.inject({ url });
      assert.ok(
        res.statusCode === 404 || res.statusCode === 200 || res.statusCode === 400,
        `${url} ${res.statusCode}`,
      );
      assert.doesNotMatch(res.body, /root:|"name": "holdfast"/, url);
      if (res.statusCode === 200) assert.match(res.body, /<title>Holdfast<\/title>/, url);
      else assert.equal(res.headers["content-type"], "application/json; charset=utf-8", url);
    }
  });

  test("a repeated query parameter is a 400 naming it, never a 500", async () => {
    const { cookie } = await signIn();
    for (const [url, param] of [
      ["/ui/api/sessions?q=a&q=b", "q"],
      ["/ui/api/sessions?model=a&model=b", "model"],
      [`/ui/api/sessions/${seeded.chatId}?model=gpt-4o&model=x`, "model"],
      ["/ui/api/sessions?order=asc&order=desc", "order"],
      ["/ui/api/usage?days=7&days=30", "days"],
      ["/ui/api/cleanup?tenant=default&tenant=default", "tenant"],
    ] as const) {
      const res = await app.inject({ url, headers: { cookie } });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.equal(res.json().error.code, "invalid_argument", url);
      assert.equal(res.json().error.param, param, url);
    }
  });

  test("the SPA shell is served for client routes, unknown tenants are refused", async () => {
    const page = await app.inject({ url: "/ui/sessions/abc" });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Holdfast/);
    const { cookie } = await signIn();
    const res = await app.inject({ url: "/ui/api/sessions?tenant=other", headers: { cookie } });
    assert.equal(res.statusCode, 400);
  });
});

describe("dashboard modes", () => {
  test("no key on loopback: dev mode signs in on first visit; elsewhere: disabled", async () => {
    const store = await createStore("memory:");
    const dev = Fastify();
    registerDashboard(dev, { store, host: "127.0.0.1", env: {} });
    const res = await dev.inject({ url: "/ui/api/session" });
    assert.equal(res.json().signedIn, true);
    assert.equal(res.json().devMode, true);
    await dev.close();
    const open = Fastify();
    registerDashboard(open, { store, host: "0.0.0.0", env: {} });
    const refused = await open.inject({ url: "/ui/api/session" });
    assert.equal(refused.json().signedIn, false);
    assert.match(refused.json().disabled, /HOLDFAST_ADMIN_KEY/);
    await open.close();
    assert.throws(() => registerDashboard(Fastify(), { store, adminKey: "short" }), /adminKey/);
    await store.close();
  });
});

describe("dashboard sign-in limit behind a reverse proxy (trustProxy)", () => {
  let store: SessionStore;
  let dist: string;
  before(async () => {
    store = await createStore("memory:");
    dist = await mkdtemp(join(tmpdir(), "holdfast-ui-proxy-"));
    await writeFile(join(dist, "index.html"), "<!doctype html><title>Holdfast</title>");
  });
  after(async () => {
    await store.close();
    await rm(dist, { recursive: true, force: true });
  });

  /** Ten failures forwarded for one client, then what another forwarded client gets. */
  async function otherClientAfterLockout(trustProxy?: boolean | number | string): Promise<number> {
    const app = await createServer({ store, ...(trustProxy === undefined ? {} : { trustProxy }) });
    registerDashboard(app, { store, adminKey: KEY, host: "0.0.0.0", distDir: dist, env: {} });
    try {
      const attempt = (key: string, client: string) =>
        app.inject({
          method: "POST",
          url: "/ui/api/session",
          payload: { key },
          remoteAddress: "127.0.0.1",
          headers: { "x-forwarded-for": client },
        });
      for (let i = 0; i < 10; i++) await attempt(`guess-${i}`, "203.0.113.7");
      assert.equal((await attempt("guess-10", "203.0.113.7")).statusCode, 429, "the guesser is limited");
      return (await attempt(KEY, "203.0.113.8")).statusCode;
    } finally {
      await app.close();
    }
  }

  test("off (default): X-Forwarded-For is ignored, every client shares the proxy's budget", async () => {
    assert.equal(await otherClientAfterLockout(), 429);
    assert.equal(await otherClientAfterLockout(false), 429);
    assert.equal(await otherClientAfterLockout("10.0.0.0/8"), 429, "the peer is not a trusted proxy");
  });

  test("on: X-Forwarded-For decides the client address", async () => {
    assert.equal(await otherClientAfterLockout(true), 200);
    assert.equal(await otherClientAfterLockout(1), 200, "a hop count");
    assert.equal(await otherClientAfterLockout("10.0.0.0/8, 127.0.0.1"), 200, "the peer is listed");
  });
});
