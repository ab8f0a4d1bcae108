import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import session, { MemoryStore, type Store } from "express-session";
import type { SessionStore } from "../../store/types.ts";
import { diffToMergePatch, HoldfastSessionStore, sessionIdOfSid } from "./express-session.ts";
import { testStoreKinds } from "./test-stores.ts";

declare module "express-session" {
  interface SessionData {
    [key: string]: unknown;
  }
}

interface App {
  url: string;
  /** Lets a `/set/:key?after=name` request continue. */
  open(name: string): void;
  close(): Promise<void>;
}

/**
 * An app whose /set/:key handlers wait until `parallel` of them have loaded the session before
 * answering, so every save happens after every load: the exact interleaving of the race.
 */
async function startApp(sessionStore: Store, parallel: number): Promise<App> {
  const app = express();
  app.use(
    session({
      store: sessionStore,
      secret: "test-secret",
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 60_000 },
    }),
  );
  const gates = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const gate = (name: string) => {
    let entry = gates.get(name);
    if (entry === undefined) {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      entry = { promise, resolve };
      gates.set(name, entry);
    }
    return entry;
  };
  let arrived = 0;
  let release: () => void = () => {};
  const barrier = new Promise<void>((resolve) => {
    release = resolve;
  });
  app.get("/init", (req, res) => {
    req.session.user = "ada";
    res.send("ok");
  });
  app.get("/set/:key", async (req, res) => {
    arrived++;
    if (arrived >= parallel) release();
    await barrier;
    if (typeof req.query.after === "string") await gate(req.query.after).promise;
    req.session[req.params.key] = true;
    res.send("ok");
  });
  app.get("/show", (req, res) => {
    res.json({ ...req.session, cookie: undefined });
  });
  app.get("/logout", (req, res) => {
    req.session.destroy(() => res.send("bye"));
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    open: (name) => gate(name).resolve(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * A GET whose body is read to the end: express-session holds back the last byte of a response
 * until the session is saved, so only then is the save complete.
 */
async function request(
  url: string,
  cookie?: string,
): Promise<{ status: number; cookie?: string; body: string }> {
  const response = await fetch(url, cookie === undefined ? {} : { headers: { cookie } });
  const body = await response.text();
  return { status: response.status, cookie: response.headers.get("set-cookie")?.split(";")[0], body };
}

async function login(app: App): Promise<string> {
  const response = await request(`${app.url}/init`);
  const cookie = response.cookie;
  assert.ok(cookie, "the app sets a session cookie");
  return cookie;
}

async function show(app: App, cookie: string): Promise<Record<string, unknown>> {
  return JSON.parse((await request(`${app.url}/show`, cookie)).body) as Record<string, unknown>;
}

async function parallelSets(app: App, cookie: string, keys: string[]): Promise<void> {
  const responses = await Promise.all(keys.map((key) => request(`${app.url}/set/${key}`, cookie)));
  for (const response of responses) assert.equal(response.status, 200);
}

describe("express-session stock MemoryStore", () => {
  it("documented contrast: the stock MemoryStore loses one of two parallel changes", async () => {
    const app = await startApp(new MemoryStore(), 2);
    try {
      const cookie = await login(app);
      await parallelSets(app, cookie, ["a", "b"]);
      const data = await show(app, cookie);
      assert.equal(data.user, "ada");
      // Both requests loaded {user}, the later save overwrote the earlier one's key.
      assert.equal([data.a, data.b].filter((v) => v === true).length, 1);
    } finally {
      await app.close();
    }
  });
});

for (const kind of testStoreKinds("express")) {
  describe(`HoldfastSessionStore on ${kind.name}`, () => {
    let store: SessionStore;
    before(async () => {
      store = await kind.open();
    });
    after(async () => {
      await store.close();
      await kind.cleanup();
    });

    it("HoldfastSessionStore keeps both parallel changes (version check + three-way merge)", async () => {
      const app = await startApp(new HoldfastSessionStore({ store, tenant: "web" }), 4);
      try {
        const cookie = await login(app);
        await parallelSets(app, cookie, ["a", "b", "c", "d"]);
        const data = await show(app, cookie);
        assert.deepEqual([data.user, data.a, data.b, data.c, data.d], ["ada", true, true, true, true]);
      } finally {
        await app.close();
      }
    });

    it("merges a save that lands after another request's completed save", async () => {
      const app = await startApp(new HoldfastSessionStore({ store, tenant: "web" }), 2);
      try {
        const cookie = await login(app);
        // Both load first; b saves only once a's response (complete after its save) has arrived.
        const b = request(`${app.url}/set/b?after=a-done`, cookie);
        const a = await request(`${app.url}/set/a`, cookie);
        assert.equal(a.status, 200);
        app.open("a-done");
        assert.equal((await b).status, 200);
        const data = await show(app, cookie);
        assert.deepEqual([data.user, data.a, data.b], ["ada", true, true]);
      } finally {
        await app.close();
      }
    });

    it("maps the cookie maxAge to the session's idle TTL and hashes the sid", async () => {
      const app = await startApp(new HoldfastSessionStore({ store, tenant: "ttl" }), 1);
      try {
        const cookie = await login(app);
        const sid = decodeURIComponent(cookie.split("=")[1] ?? "")
          .slice(2)
          .split(".")[0];
        assert.ok(sid);
        const stored = await store.get("ttl", sessionIdOfSid(sid));
        assert.equal(stored.idleTtlMs, 60_000);
        assert.equal(stored.state.user, "ada");
        assert.ok(!JSON.stringify(stored).includes(sid), "the raw sid is never stored");
        // Logout deletes it; a later request does not bring it back.
        await request(`${app.url}/logout`, cookie);
        await assert.rejects(store.get("ttl", sessionIdOfSid(sid)), { code: "not_found" });
        assert.deepEqual(await show(app, cookie), {});
      } finally {
        await app.close();
      }
    });

    it("rounds the cookie's originalMaxAge up to whole seconds (express-session may hand 59999 for 60000)", async () => {
      const sessionStore = new HoldfastSessionStore({ store, tenant: "round" });
      for (const [sid, originalMaxAge, expected] of [
        ["sid-a", 59_999, 60_000],
        ["sid-b", 60_000, 60_000],
        ["sid-c", 1, 1000],
      ] as const) {
        const cookie = { originalMaxAge, maxAge: originalMaxAge, httpOnly: true, path: "/" };
        await new Promise<void>((resolve, reject) =>
          sessionStore.set(sid, { cookie } as never, (e) => (e ? reject(e) : resolve())),
        );
        assert.equal((await store.get("round", sessionIdOfSid(sid))).idleTtlMs, expected, sid);
      }
    });

    it("destroys a session saved or touched with a cookie that has already expired", async () => {
      const sessionStore = new HoldfastSessionStore({ store, tenant: "expired" });
      const call = (fn: (cb: (e?: unknown, v?: unknown) => void) => void) =>
        new Promise<unknown>((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v))));
      const live = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000), path: "/" };
      const past = new Date(Date.now() - 1000);
      const expired = { originalMaxAge: -1000, expires: past, path: "/" };
      // Before: stored with the 1-day default TTL and loaded again by the next request.
      await call((cb) => sessionStore.set("sid-new", { cookie: expired, user: "ada" } as never, cb));
      assert.equal(await call((cb) => sessionStore.get("sid-new", cb)), null);
      await assert.rejects(store.get("expired", sessionIdOfSid("sid-new")), { code: "not_found" });
      for (const [sid, write] of [
        ["sid-set", (cb: never) => sessionStore.set("sid-set", { cookie: expired } as never, cb)],
        [
          "sid-touch",
          (cb: never) =>
            sessionStore.touch(
              "sid-touch",
              { cookie: { ...expired, expires: past.toISOString() } } as never,
              cb,
            ),
        ],
      ] as const) {
        await call((cb) => sessionStore.set(sid, { cookie: live, user: "ada" } as never, cb));
        assert.ok(await call((cb) => sessionStore.get(sid, cb)));
        await call(write as never);
        assert.equal(await call((cb) => sessionStore.get(sid, cb)), null, sid);
      }
    });

    it("does not resurrect a session destroyed while a request held it", async () => {
      const sessionStore = new HoldfastSessionStore({ store, tenant: "race" });
      const cookie = { originalMaxAge: 1000, maxAge: 1000, httpOnly: true, path: "/" };
      await new Promise<void>((resolve, reject) =>
        sessionStore.set("sid-1", { cookie } as never, (e) => (e ? reject(e) : resolve())),
      );
      const loaded = await new Promise<Record<string, unknown> | null | undefined>((resolve, reject) =>
        sessionStore.get("sid-1", (e, s) => (e ? reject(e) : resolve(s as Record<string, unknown>))),
      );
      assert.ok(loaded);
      await new Promise<void>((resolve) => sessionStore.destroy("sid-1", () => resolve()));
      loaded.x = 1;
      await new Promise<void>((resolve, reject) =>
        sessionStore.set("sid-1", loaded as never, (e) => (e ? reject(e) : resolve())),
      );
      await assert.rejects(store.get("race", sessionIdOfSid("sid-1")), { code: "not_found" });
    });
  });
}

describe("diffToMergePatch", () => {
  it("diffToMergePatch expresses additions, changes and removals", () => {
    assert.deepEqual(
      diffToMergePatch(
        { a: 1, b: { c: 1, d: 2 }, gone: true, same: [1] },
        { a: 2, b: { c: 1 }, same: [1], n: {} },
      ),
      { gone: null, a: 2, b: { d: null }, n: {} },
    );
    assert.throws(() => new HoldfastSessionStore({ store: {} as SessionStore, tenant: "t" }), /store/);
  });

  it("removes keys named like Object.prototype's members", () => {
    assert.deepEqual(diffToMergePatch({ constructor: 1, toString: "x", a: 1 }, { a: 1 }), {
      constructor: null,
      toString: null,
    });
  });
});
