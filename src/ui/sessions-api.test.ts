import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { handleError } from "../server/errors.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { registerDashboard } from "./server.ts";
import { MODEL_SCAN_SESSIONS } from "./session-list.ts";
import { type Seeded, seedDashboardStore } from "./test-seed.ts";

const KEY = "admin-key-0123456789abcdef";

interface Row {
  id: string;
  itemCount: number;
  bytes: number;
  updatedAt: number;
  createdAt: number;
  forkParent: { sessionId: string; atSeq: number } | null;
}

describe("dashboard sessions API: sorts, filters, forks, compact", () => {
  let store: SessionStore;
  let app: FastifyInstance;
  let seeded: Seeded;
  let dist: string;
  let cookie = "";
  let csrf = "";

  before(async () => {
    store = await createStore("memory:");
    seeded = await seedDashboardStore(store);
    dist = await mkdtemp(join(tmpdir(), "holdfast-ui-sessions-"));
    await writeFile(join(dist, "index.html"), "<!doctype html><title>Holdfast</title>");
    app = Fastify();
    app.setErrorHandler(handleError);
    registerDashboard(app, { store, adminKey: KEY, host: "0.0.0.0", distDir: dist, env: {} });
    await app.ready();
    const res = await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
    cookie = String(res.headers["set-cookie"]).split(";")[0]!;
    csrf = res.json().csrfToken;
  });
  after(async () => {
    await app.close();
    await store.close();
    await rm(dist, { recursive: true, force: true });
  });

  const get = async (url: string) => app.inject({ url, headers: { cookie } });
  /** Every page of a listing, following nextCursor. */
  async function all(query: string): Promise<Row[]> {
    const rows: Row[] = [];
    let cursor = "";
    for (let i = 0; i < 50; i++) {
      const res = await get(`/ui/api/sessions?${query}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(res.statusCode, 200, res.body);
      rows.push(...res.json().data);
      cursor = res.json().nextCursor ?? "";
      if (!cursor) break;
    }
    return rows;
  }

  test("sorting is done by the store, correct across pages in both orders", async () => {
    const key: Record<string, (r: Row) => number> = {
      items: (r) => r.itemCount,
      bytes: (r) => r.bytes,
      updated: (r) => r.updatedAt,
      created: (r) => r.createdAt,
    };
    for (const sort of Object.keys(key)) {
      for (const order of ["asc", "desc"]) {
        const rows = await all(`sort=${sort}&order=${order}`);
        assert.equal(rows.length, seeded.sessionIds.length);
        const expected = [...rows].sort(
          (a, b) => (key[sort]!(a) - key[sort]!(b) || (a.id < b.id ? -1 : 1)) * (order === "asc" ? 1 : -1),
        );
        assert.deepEqual(
          rows.map((r) => r.id),
          expected.map((r) => r.id),
          `${sort} ${order}`,
        );
      }
    }
    assert.equal((await get("/ui/api/sessions?sort=cost")).statusCode, 400);
  });

  test("size, age and model filters", async () => {
    const biggest = (await all("sort=bytes"))[0]!;
    assert.equal(biggest.id, seeded.chatId);
    const big = await all(`minBytes=${biggest.bytes}`);
    assert.deepEqual(
      big.map((r) => r.id),
      [seeded.chatId],
    );
    const small = await all(`maxBytes=${biggest.bytes - 1}`);
    assert.equal(small.length, seeded.sessionIds.length - 1);
    assert.equal((await all("createdWithin=1")).length, seeded.sessionIds.length);
    assert.equal((await all("olderThan=1")).length, 0);
    assert.equal((await get("/ui/api/sessions?minBytes=-5")).statusCode, 400);

    // The fork copies items 1..3 only: no turn records, so no model.
    const sonnet = await get("/ui/api/sessions?model=claude-sonnet-4-5&limit=50");
    const ids = sonnet.json().data.map((r: Row) => r.id);
    assert.ok(ids.includes(seeded.chatId));
    assert.ok(!ids.includes(seeded.forkId));
    assert.equal(ids.length, 1 + 6, "the chat plus the even-numbered filler sessions");
    assert.equal(sonnet.json().scanned, seeded.sessionIds.length);
    assert.ok(MODEL_SCAN_SESSIONS >= seeded.sessionIds.length);
    // The model filter pages too: small pages still end up with every match, once.
    const paged = await all("model=gpt-4o-mini");
    assert.equal(new Set(paged.map((r) => r.id)).size, paged.length);
    assert.equal(paged.length, 1 + 6);
    const none = await get("/ui/api/sessions?model=no-such-model");
    assert.deepEqual(none.json().data, []);
  });

  test("forks of a session, and the compact button's route", async () => {
    const forks = await get(`/ui/api/sessions/${seeded.chatId}/forks`);
    assert.equal(forks.statusCode, 200);
    assert.deepEqual(
      forks.json().data.map((r: Row) => r.id),
      [seeded.forkId],
    );
    assert.deepEqual((await get(`/ui/api/sessions/${seeded.forkId}/forks`)).json().data, []);

    const url = `/ui/api/sessions/${seeded.chatId}/compact`;
    const denied = await app.inject({ method: "POST", url, headers: { cookie }, payload: {} });
    assert.equal(denied.statusCode, 403, "a write needs the CSRF token");
    const headers = { cookie, "x-csrf-token": csrf };
    const bad = await app.inject({ method: "POST", url, headers, payload: { keepRecentTokens: 0 } });
    assert.equal(bad.statusCode, 400);
    const unknown = await app.inject({ method: "POST", url, headers, payload: { model: "no-such-model" } });
    assert.equal(unknown.statusCode, 404);
    const before = await store.get("default", seeded.chatId);
    const res = await app.inject({ method: "POST", url, headers, payload: { keepRecentTokens: 1 } });
    assert.equal(res.statusCode, 200, res.body);
    const { result } = res.json();
    assert.equal(result.compacted, true);
    assert.ok(result.tokensAfter < result.tokensBefore);
    const after = await store.get("default", seeded.chatId);
    assert.equal(after.itemCount, before.itemCount + 1, "one summary item appended; originals kept");
    const last = (await store.readItems("default", seeded.chatId, { order: "desc", limit: 1 }))[0]!;
    assert.equal(last.type, "summary");
    const again = await app.inject({ method: "POST", url, headers, payload: { keepRecentTokens: 1 } });
    assert.equal(again.json().result.compacted, false, "nothing new to fold");
  });

  test("numeric query parameters are plain decimal integers, else a 400 naming them", async () => {
    const one = `/ui/api/sessions/${seeded.chatId}`;
    const routes: [string, string][] = [
      ["/ui/api/sessions", "limit"],
      ["/ui/api/sessions", "activeWithin"],
      ["/ui/api/sessions", "idleFor"],
      ["/ui/api/sessions", "createdWithin"],
      ["/ui/api/sessions", "olderThan"],
      ["/ui/api/sessions", "minBytes"],
      ["/ui/api/sessions", "maxBytes"],
      [`/ui/api/sessions?q=${seeded.chatId}`, "limit"],
      [one, "windowTokens"],
      [`${one}/forks`, "limit"],
      ["/ui/api/usage", "days"],
    ];
    for (const [route, param] of routes) {
      const join = route.includes("?") ? "&" : "?";
      assert.equal((await get(`${route}${join}${param}=16`)).statusCode, 200, `${route} ${param}=16`);
      for (const value of ["1e2", "0x10", "0b11", "0o7", "16.0", "+16", "-0", "%2016", "16%20", "1_6"]) {
        const res = await get(`${route}${join}${param}=${value}`);
        assert.equal(res.statusCode, 400, `${route} ${param}=${value}: ${res.body}`);
        assert.equal(res.json().error.code, "invalid_argument");
        assert.equal(res.json().error.param, param, `${route} ${param}=${value}`);
        assert.match(res.json().error.message, /decimal digits/);
      }
    }
  });

  test("fork, compact and enforce refuse a body that is not an object or has an unknown or mistyped field", async () => {
    const headers = { cookie, "x-csrf-token": csrf, "content-type": "application/json" };
    const post = (url: string, payload: string) => app.inject({ method: "POST", url, headers, payload });
    const forksBefore = (await store.list("default", { forkOf: seeded.chatId, limit: 200 })).data.length;
    const itemsBefore = (await store.get("default", seeded.chatId)).itemCount;
    const notObjects = ['"x"', "[1]", "5", "null", "true"];
    const cases: [string, string, string][] = [
      ...notObjects.map((body): [string, string, string] => ["fork", body, "body"]),
      ["fork", '{"at_seq":2}', "at_seq"],
      ["fork", '{"atSeq":"2"}', "atSeq"],
      ["fork", '{"atSeq":-1}', "atSeq"],
      ...notObjects.map((body): [string, string, string] => ["compact", body, "body"]),
      ["compact", '{"keepRecent":1}', "keepRecent"],
      ["compact", '{"keepRecentTokens":"1"}', "keepRecentTokens"],
      ["compact", '{"model":5}', "model"],
    ];
    for (const [route, body, param] of cases) {
      const res = await post(`/ui/api/sessions/${seeded.chatId}/${route}`, body);
      assert.equal(res.statusCode, 400, `${route} ${body}: ${res.body}`);
      assert.equal(res.json().error.code, "invalid_argument", `${route} ${body}`);
      assert.equal(res.json().error.param, param, `${route} ${body}`);
    }
    const forksAfter = (await store.list("default", { forkOf: seeded.chatId, limit: 200 })).data.length;
    assert.equal(forksAfter, forksBefore, "no fork was made");
    assert.equal((await store.get("default", seeded.chatId)).itemCount, itemsBefore, "nothing compacted");
    // No body at all is still an empty one: fork at the end.
    const bare = await app.inject({
      method: "POST",
      url: `/ui/api/sessions/${seeded.chatId}/fork`,
      headers: { cookie, "x-csrf-token": csrf },
    });
    assert.equal(bare.statusCode, 200, bare.body);
    await store.delete("default", bare.json().session.id);

    // Enforce, on an instance with a sweeper that must never be reached.
    const unreachable = async (): Promise<never> => assert.fail("the sweeper was reached");
    const withSweeper = Fastify();
    withSweeper.setErrorHandler(handleError);
    registerDashboard(withSweeper, {
      store,
      adminKey: KEY,
      host: "0.0.0.0",
      distDir: dist,
      env: {},
      sweeper: { plan: unreachable, apply: unreachable, stats: () => assert.fail("stats") },
    });
    try {
      const signIn = await withSweeper.inject({
        method: "POST",
        url: "/ui/api/session",
        payload: { key: KEY },
      });
      const auth = {
        cookie: String(signIn.headers["set-cookie"]).split(";")[0]!,
        "x-csrf-token": signIn.json().csrfToken,
        "content-type": "application/json",
      };
      for (const [body, param] of [
        ...notObjects.map((b) => [b, "body"]),
        [`{"now":${Date.now()},"dryRun":true}`, "dryRun"],
        ['{"now":"1"}', "now"],
      ]) {
        const res = await withSweeper.inject({
          method: "POST",
          url: "/ui/api/cleanup/enforce",
          headers: auth,
          payload: body!,
        });
        assert.equal(res.statusCode, 400, `enforce ${body}: ${res.body}`);
        assert.equal(res.json().error.param, param, `enforce ${body}`);
      }
    } finally {
      await withSweeper.close();
    }
  });

  test("sessions with any id the store accepts open, are found by id, fork and delete", async () => {
    // What the adapters give (src/interop/adapters/session-ids.ts): a framework id, or a hash.
    const ids = ["conv_my-chat_2024-0001", `conv_h_${"ab12".repeat(16)}`];
    for (const id of ids) {
      await store.create("default", {
        id,
        items: [{ content: { type: "message", role: "user", content: "hi" } }],
      });
      const one = await get(`/ui/api/sessions/${id}`);
      assert.equal(one.statusCode, 200, one.body);
      assert.equal(one.json().session.id, id);
      assert.equal(one.json().entries[0].text, "hi");
      assert.deepEqual(
        (await get(`/ui/api/sessions?q=${id}`)).json().data.map((r: Row) => r.id),
        [id],
      );
      assert.equal((await get(`/ui/api/sessions/${id}/forks`)).statusCode, 200);
      assert.equal((await get(`/ui/api/sessions/${id}/export`)).statusCode, 200);
      const headers = { cookie, "x-csrf-token": csrf };
      const fork = await app.inject({
        method: "POST",
        url: `/ui/api/sessions/${id}/fork`,
        headers,
        payload: {},
      });
      assert.equal(fork.statusCode, 200, fork.body);
      await store.delete("default", fork.json().session.id);
      const del = await app.inject({ method: "DELETE", url: `/ui/api/sessions/${id}`, headers });
      assert.equal(del.statusCode, 200, del.body);
    }
    // Text that cannot be an id finds nothing, rather than being ignored (every session listed).
    const miss = await get("/ui/api/sessions?q=alice");
    assert.equal(miss.statusCode, 200);
    assert.deepEqual(miss.json(), { data: [], nextCursor: null });
    assert.equal((await get("/ui/api/sessions/conv_x")).statusCode, 404);
  });
});
