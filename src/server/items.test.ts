import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openTestApp, type TestApp, userMessage } from "./test-helpers.ts";

describe("/v1/conversations/{id}/items", () => {
  let t: TestApp;
  let id: string;
  const ids: string[] = [];
  before(async () => {
    t = await openTestApp();
    const items = Array.from({ length: 5 }, (_, i) => ({ id: `msg_${i}`, ...userMessage(`m${i}`) }));
    id = (await t.call("POST", "/v1/conversations", { items })).json.id;
    ids.push(...items.map((i) => i.id));
  });
  after(() => t.close());

  test("list defaults to newest first, 20 per page, with first_id/last_id/has_more", async () => {
    const res = await t.call("GET", `/v1/conversations/${id}/items`);
    assert.equal(res.json.object, "list");
    assert.deepEqual(
      res.json.data.map((i: { id: string }) => i.id),
      [...ids].reverse(),
    );
    assert.equal(res.json.first_id, "msg_4");
    assert.equal(res.json.last_id, "msg_0");
    assert.equal(res.json.has_more, false);
  });

  test("after = item id continues the page in either order", async () => {
    const desc = await t.call("GET", `/v1/conversations/${id}/items?limit=2&after=msg_3`);
    assert.deepEqual(
      desc.json.data.map((i: { id: string }) => i.id),
      ["msg_2", "msg_1"],
    );
    assert.equal(desc.json.has_more, true);
    const asc = await t.call("GET", `/v1/conversations/${id}/items?order=asc&after=msg_3`);
    assert.deepEqual(
      asc.json.data.map((i: { id: string }) => i.id),
      ["msg_4"],
    );
    const missing = await t.call("GET", `/v1/conversations/${id}/items?after=msg_nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.param, "after", "the 404 names the query field the client sent");
    const gone = await t.call("GET", "/v1/conversations/conv_ffffffffffffffff/items?after=msg_nope");
    assert.equal(gone.json.error.param, "session_id", "an unknown conversation is still named as such");
  });

  test("limit outside 1..100 is a 400 naming limit", async () => {
    for (const limit of ["0", "101"]) {
      const res = await t.call("GET", `/v1/conversations/${id}/items?limit=${limit}`);
      assert.equal(res.status, 400);
      assert.equal(res.json.error.param, "limit");
    }
  });

  test("create appends atomically and returns the created items as a list", async () => {
    const res = await t.call("POST", `/v1/conversations/${id}/items`, {
      items: [userMessage("a"), { type: "function_call", call_id: "c1", name: "f", arguments: "{}" }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.data.length, 2);
    assert.equal(res.json.data[1].type, "function_call");
    assert.match(res.json.data[1].id, /^fc_/);
    assert.equal(res.headers.etag, `"${(await t.call("GET", `/v1/conversations/${id}`)).json.version}"`);
  });

  test("Idempotency-Key replays the first result and writes nothing; another payload is 409", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id;
    const body = { items: [userMessage("once")] };
    const key = { "idempotency-key": "op-1" };
    const first = await t.call("POST", `/v1/conversations/${conv}/items`, body, key);
    const again = await t.call("POST", `/v1/conversations/${conv}/items`, body, key);
    assert.deepEqual(again.json, first.json);
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.equal((await t.call("GET", `/v1/conversations/${conv}`)).json.item_count, 1);
    const other = await t.call("POST", `/v1/conversations/${conv}/items`, { items: [userMessage("x")] }, key);
    assert.equal(other.status, 409);
  });

  test("expected_version and If-Match guard appends; they must agree", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json;
    const body = { items: [userMessage("v")] };
    const stale = await t.call("POST", `/v1/conversations/${conv.id}/items?expected_version=0`, body);
    assert.equal(stale.status, 409);
    const ok = await t.call(
      "POST",
      `/v1/conversations/${conv.id}/items?expected_version=${conv.version}`,
      body,
    );
    assert.equal(ok.status, 200);
    const disagree = await t.call("POST", `/v1/conversations/${conv.id}/items?expected_version=1`, body, {
      "if-match": '"2"',
    });
    assert.equal(disagree.status, 400);
    const garbage = await t.call("POST", `/v1/conversations/${conv.id}/items`, body, { "if-match": "nope" });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.json.error.param, "If-Match");
  });

  test("create rejects an empty list, a typeless item and an unknown conversation", async () => {
    assert.equal((await t.call("POST", `/v1/conversations/${id}/items`, { items: [] })).status, 400);
    const typeless = await t.call("POST", `/v1/conversations/${id}/items`, { items: [{ content: "x" }] });
    assert.equal(typeless.status, 400);
    const unknown = await t.call("POST", "/v1/conversations/conv_ffffffffffffffff/items", {
      items: [userMessage("x")],
    });
    assert.equal(unknown.status, 404);
  });

  test("create refuses what a turn's input refuses, naming items[i], and writes none of the items", async () => {
    const conv = (await t.call("POST", "/v1/conversations", { items: [userMessage("keep")] })).json.id;
    const snapshot = async () => JSON.stringify((await t.call("GET", `/v1/conversations/${conv}`)).json);
    const before = await snapshot();
    const five = (bad: object) => [1, 2, bad, 4, 5].map((n) => (n === bad ? bad : userMessage(`m${n}`)));
    const cases: [object, string][] = [
      [{ type: "bogus" }, "items[2].type"],
      // Bookkeeping items are the gateway's own: a client must not forge a response record or a summary.
      [{ type: "response_record", usage: "x" }, "items[2].type"],
      [{ type: "summary", summary: 5 }, "items[2].type"],
      [{ role: "wizard", content: "x" }, "items[2].role"],
      [{ role: "user", content: 5 }, "items[2].content"],
      [{ role: "user" }, "items[2].content"],
      [{ role: "user", content: [{ type: "input_text", text: 5 }] }, "items[2].content[0].text"],
      [{ role: "user", content: [{ text: "x" }] }, "items[2].content[0].type"],
      [{ type: "function_call", call_id: "c", arguments: "{}" }, "items[2].name"],
      [{ type: "function_call", call_id: "c", name: "f", arguments: {} }, "items[2].arguments"],
      [{ type: "function_call_output", call_id: "c" }, "items[2].output"],
      [{ type: "function_call_output", output: "x" }, "items[2].call_id"],
      [{ id: "bad id", ...userMessage("x") }, "items[2].id"],
    ];
    for (const [bad, param] of cases) {
      const res = await t.call("POST", `/v1/conversations/${conv}/items`, { items: five(bad) });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, "invalid_argument");
      assert.equal(res.json.error.param, param, JSON.stringify(bad));
    }
    assert.equal(await snapshot(), before, "no rejected create wrote anything");
    const count = (await t.store.list("default", { limit: 1000 })).data.length;
    const created = await t.call("POST", "/v1/conversations", {
      items: five({ role: "wizard", content: "x" }),
    });
    assert.equal(created.status, 400);
    assert.equal(created.json.error.param, "items[2].role");
    assert.equal(
      (await t.store.list("default", { limit: 1000 })).data.length,
      count,
      "no conversation created",
    );
  });

  test("a call may wait for its output; an output must answer a call before it, once", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id;
    const url = `/v1/conversations/${conv}/items`;
    const call = (id: string) => ({ type: "function_call", call_id: id, name: "f", arguments: "{}" });
    const output = (id: string) => ({ type: "function_call_output", call_id: id, output: "ok" });
    assert.equal((await t.call("POST", url, { items: [call("c1")] })).status, 200, "a call alone is stored");
    const orphan = await t.call("POST", url, { items: [userMessage("x"), output("nope")] });
    assert.equal(orphan.status, 400);
    assert.equal(orphan.json.error.param, "items[1].call_id");
    const key = { "idempotency-key": "answer-c1" };
    const answered = await t.call("POST", url, { items: [output("c1")] }, key);
    assert.equal(answered.status, 200, JSON.stringify(answered.json));
    const replay = await t.call("POST", url, { items: [output("c1")] }, key);
    assert.equal(replay.headers["idempotent-replayed"], "true", "a retried answer replays");
    const twice = await t.call("POST", url, { items: [output("c1")] });
    assert.equal(twice.status, 400);
    assert.match(twice.json.error.message, /already has a function_call_output/);
    const inOne = await t.call("POST", url, { items: [call("c2"), output("c2"), output("c2")] });
    assert.equal(inOne.json.error.param, "items[2].call_id");
    const fresh = await t.call("POST", "/v1/conversations", { items: [output("c1")] });
    assert.equal(fresh.status, 400);
    assert.equal(fresh.json.error.param, "items[0].call_id");
    const paired = await t.call("POST", "/v1/conversations", { items: [call("c3"), output("c3")] });
    assert.equal(paired.status, 200);
    assert.equal((await t.call("GET", `/v1/conversations/${conv}`)).json.item_count, 2);
  });

  test("retrieve one item by id; unknown item is 404", async () => {
    const res = await t.call("GET", `/v1/conversations/${id}/items/msg_2`);
    assert.deepEqual(res.json, { id: "msg_2", ...userMessage("m2") });
    const missing = await t.call("GET", `/v1/conversations/${id}/items/msg_none`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, "not_found");
  });

  test("appending to an archived conversation is 409 session_archived until it is active again", async () => {
    const conv = (await t.call("POST", "/v1/conversations", { items: [userMessage("one")] })).json;
    await t.call("POST", `/v1/conversations/${conv.id}`, { status: "archived" });
    const refused = await t.call("POST", `/v1/conversations/${conv.id}/items`, {
      items: [userMessage("two")],
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error.code, "session_archived");
    await t.call("POST", `/v1/conversations/${conv.id}`, { status: "active" });
    const ok = await t.call("POST", `/v1/conversations/${conv.id}/items`, { items: [userMessage("two")] });
    assert.equal(ok.status, 200);
  });
});
