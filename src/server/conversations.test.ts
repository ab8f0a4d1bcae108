import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HoldfastError } from "../store/errors.ts";
import { openTestApp, type TestApp, userMessage } from "./test-helpers.ts";

describe("/v1/conversations", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp();
  });
  after(() => t.close());

  test("create returns OpenAI's conversation object plus Holdfast fields and an ETag", async () => {
    const res = await t.call("POST", "/v1/conversations", {
      metadata: { topic: "demo" },
      items: [userMessage("hi")],
      owner: "user-1",
      labels: ["support"],
      idle_ttl_ms: 60_000,
      pinned: true,
    });
    assert.equal(res.status, 200);
    assert.match(res.json.id, /^conv_[0-9a-f]{32}$/);
    assert.equal(res.json.object, "conversation");
    assert.ok(
      Number.isInteger(res.json.created_at) && res.json.created_at < 1e11,
      "created_at is unix seconds",
    );
    assert.deepEqual(res.json.metadata, { topic: "demo" });
    assert.equal(res.json.owner, "user-1");
    assert.deepEqual(res.json.labels, ["support"]);
    assert.equal(res.json.item_count, 1);
    assert.equal(res.json.pinned, true);
    assert.equal(res.json.idle_ttl_ms, 60_000);
    assert.equal(res.json.fork_parent, null);
    assert.equal(res.headers.etag, `"${res.json.version}"`);
  });

  test("create with no body makes an empty conversation", async () => {
    const res = await t.app.inject({ method: "POST", url: "/v1/conversations" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().item_count, 0);
    assert.deepEqual(res.json().metadata, {});
  });

  test("create with an expires_at already past is 400 naming expires_at, and creates nothing", async () => {
    const before = (await t.call("GET", "/v1/conversations?limit=100")).json.data.length;
    for (const expires_at of [1, Math.floor(Date.now() / 1000) - 60]) {
      const res = await t.call("POST", "/v1/conversations", { expires_at, items: [userMessage("hi")] });
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.error.code, "invalid_argument");
      assert.equal(res.json.error.param, "expires_at");
    }
    assert.equal((await t.call("GET", "/v1/conversations?limit=100")).json.data.length, before);
  });

  test("create accepts OpenAI's easy message shape and stores a canonical message item", async () => {
    const created = await t.call("POST", "/v1/conversations", {
      items: [{ role: "user", content: "hello" }],
    });
    const items = await t.call("GET", `/v1/conversations/${created.json.id}/items`);
    assert.deepEqual(items.json.data[0].content, [{ type: "input_text", text: "hello" }]);
    assert.equal(items.json.data[0].type, "message");
  });

  test("retrieve returns the conversation; unknown id is 404 not_found", async () => {
    const { json } = await t.call("POST", "/v1/conversations", {});
    const got = await t.call("GET", `/v1/conversations/${json.id}`);
    assert.deepEqual(got.json, json);
    const missing = await t.call("GET", "/v1/conversations/conv_00000000000000000000000000000000");
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, "not_found");
  });

  test("update sets metadata and Holdfast fields, honours If-Match", async () => {
    const { json } = await t.call("POST", "/v1/conversations", {});
    const stale = await t.call(
      "POST",
      `/v1/conversations/${json.id}`,
      { metadata: { a: "1" } },
      { "if-match": '"99"' },
    );
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, "conflict");
    const res = await t.call(
      "POST",
      `/v1/conversations/${json.id}`,
      { metadata: { a: "1" }, owner: "o", labels: ["l"], status: "archived", expires_at: 4_000_000_000 },
      { "if-match": `"${json.version}"` },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.metadata, { a: "1" });
    assert.equal(res.json.status, "archived");
    assert.equal(res.json.expires_at, 4_000_000_000);
    assert.equal(res.json.version, json.version + 1);
  });

  test("delete returns conversation.deleted and the conversation is gone", async () => {
    const { json } = await t.call("POST", "/v1/conversations", {});
    const res = await t.call("DELETE", `/v1/conversations/${json.id}`);
    assert.deepEqual(res.json, { id: json.id, object: "conversation.deleted", deleted: true });
    assert.equal((await t.call("GET", `/v1/conversations/${json.id}`)).status, 404);
    assert.equal((await t.call("DELETE", `/v1/conversations/${json.id}`)).status, 404);
  });

  test("list filters by owner and label and pages with next_cursor", async () => {
    for (let i = 0; i < 5; i++)
      await t.call("POST", "/v1/conversations", { owner: "lister", labels: [i % 2 ? "odd" : "even"] });
    const first = await t.call("GET", "/v1/conversations?owner=lister&limit=2&order=asc");
    assert.equal(first.json.object, "list");
    assert.equal(first.json.data.length, 2);
    assert.equal(first.json.has_more, true);
    const rest = await t.call(
      "GET",
      `/v1/conversations?owner=lister&limit=10&order=asc&after=${first.json.next_cursor}`,
    );
    assert.equal(rest.json.data.length, 3);
    assert.equal(rest.json.has_more, false);
    assert.equal(rest.json.next_cursor, null);
    const odd = await t.call("GET", "/v1/conversations?owner=lister&label=odd");
    assert.equal(odd.json.data.length, 2);
  });

  test("list filters by status and by update time in unix seconds", async () => {
    const conv = (await t.call("POST", "/v1/conversations", { owner: "timer" })).json;
    await t.call("POST", `/v1/conversations/${conv.id}`, { status: "archived" });
    const ids = async (q: string): Promise<string[]> =>
      (await t.call("GET", `/v1/conversations?owner=timer&${q}`)).json.data.map((c: { id: string }) => c.id);
    assert.deepEqual(await ids("status=archived"), [conv.id]);
    assert.deepEqual(await ids("status=active"), []);
    assert.deepEqual(await ids(`updated_after=${conv.updated_at + 3600}`), []);
    assert.deepEqual(await ids(`updated_before=${conv.updated_at + 3600}`), [conv.id]);
    assert.deepEqual(await ids(`updated_before=${conv.updated_at - 3600}`), []);
  });

  test("list rejects a limit out of range and a forged cursor with 400", async () => {
    const big = await t.call("GET", "/v1/conversations?limit=5000");
    assert.equal(big.status, 400);
    assert.equal(big.json.error.param, "limit");
    const forged = await t.call("GET", "/v1/conversations?after=not-a-cursor");
    assert.equal(forged.status, 400);
    assert.equal(forged.json.error.param, "cursor");
  });

  test("every request acts for the tenant the resolver picks", async () => {
    const other = await openTestApp({
      resolveTenant: (req) => String(req.headers["x-test-tenant"] ?? "default"),
    });
    try {
      const created = await other.call("POST", "/v1/conversations", {}, { "x-test-tenant": "acme" });
      assert.equal((await other.call("GET", `/v1/conversations/${created.json.id}`)).status, 404);
      const own = await other.call("GET", `/v1/conversations/${created.json.id}`, undefined, {
        "x-test-tenant": "acme",
      });
      assert.equal(own.status, 200);
    } finally {
      await other.close();
    }
  });

  test("GET /healthz answers ok and needs no tenant", async () => {
    const res = await t.call("GET", "/healthz");
    assert.deepEqual(res.json, { status: "ok", store: "memory" });
    const locked = await openTestApp({
      resolveTenant: () => {
        throw new HoldfastError("unauthenticated", "An API key is required.");
      },
    });
    try {
      assert.equal((await locked.call("GET", "/healthz")).status, 200);
      const refused = await locked.call("GET", "/v1/conversations");
      assert.equal(refused.status, 401);
      assert.equal(refused.json.error.code, "unauthenticated");
    } finally {
      await locked.close();
    }
  });
});
