import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openTestApp, type TestApp, userMessage } from "./test-helpers.ts";

describe("Holdfast extensions: window, state, fork", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp();
  });
  after(() => t.close());

  async function conversation(items: object[] = []): Promise<{ id: string; version: number }> {
    return (await t.call("POST", "/v1/conversations", { items })).json;
  }

  test("window returns the newest items that fit and never splits a call from its output", async () => {
    const call = { type: "function_call", call_id: "c1", name: "f", arguments: "{}" };
    const output = { type: "function_call_output", call_id: "c1", output: "ok" };
    const conv = await conversation([userMessage("old ".repeat(50)), call, output, userMessage("new")]);
    const all = await t.call("GET", `/v1/conversations/${conv.id}/window?max_tokens=100000`);
    assert.equal(all.json.object, "conversation.window");
    assert.equal(all.json.data.length, 4);
    assert.equal(all.json.truncated, false);
    const outputTokens = (await t.store.readItems("default", conv.id, { afterSeq: 2 }))
      .map((i) => i.tokens)
      .reduce((a, b) => a + b, 0);
    // Budget for the output and the last message only: the orphan output must be dropped too.
    const tight = await t.call("GET", `/v1/conversations/${conv.id}/window?max_tokens=${outputTokens}`);
    assert.deepEqual(
      tight.json.data.map((i: { type: string }) => i.type),
      ["message"],
    );
    assert.equal(tight.json.truncated, true);
    assert.equal(tight.headers.etag, `"${tight.json.version}"`);
  });

  test("window requires max_tokens as a non-negative integer", async () => {
    const conv = await conversation();
    for (const q of ["", "?max_tokens=-1", "?max_tokens=abc", "?max_tokens=1e3"]) {
      const res = await t.call("GET", `/v1/conversations/${conv.id}/window${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.json.error.code, "invalid_argument");
    }
  });

  test("state starts empty, merges RFC 7386 patches and returns an ETag", async () => {
    const conv = await conversation();
    const empty = await t.call("GET", `/v1/conversations/${conv.id}/state`);
    assert.deepEqual(empty.json, {
      object: "conversation.state",
      conversation_id: conv.id,
      version: conv.version,
      state: {},
    });
    await t.call("PATCH", `/v1/conversations/${conv.id}/state`, { a: 1, b: { c: 2 } });
    const res = await t.app.inject({
      method: "PATCH",
      url: `/v1/conversations/${conv.id}/state`,
      headers: { "content-type": "application/merge-patch+json" },
      payload: JSON.stringify({ a: null, b: { d: 3 } }),
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().state, { b: { c: 2, d: 3 } });
    assert.equal(res.headers.etag, `"${res.json().version}"`);
  });

  test("conditional GET: If-None-Match with the current version is 304, an old one 200", async () => {
    const conv = await conversation();
    for (const path of [`/v1/conversations/${conv.id}`, `/v1/conversations/${conv.id}/state`]) {
      const same = await t.app.inject({
        method: "GET",
        url: path,
        headers: { "if-none-match": `"${conv.version}"` },
      });
      assert.equal(same.statusCode, 304, path);
      assert.equal(same.body, "");
      const old = await t.app.inject({ method: "GET", url: path, headers: { "if-none-match": '"0"' } });
      assert.equal(old.statusCode, 200, path);
    }
  });

  test("state patch with a stale If-Match is 409 and changes nothing", async () => {
    const conv = await conversation();
    const res = await t.call("PATCH", `/v1/conversations/${conv.id}/state`, { x: 1 }, { "if-match": '"0"' });
    assert.equal(res.status, 409);
    assert.deepEqual((await t.call("GET", `/v1/conversations/${conv.id}/state`)).json.state, {});
  });

  test("fork copies history up to at_seq or at_item_id; writes to the fork stay there", async () => {
    const conv = await conversation([
      { id: "msg_a", ...userMessage("1") },
      { id: "msg_b", ...userMessage("2") },
      userMessage("3"),
    ]);
    const bySeq = await t.call("POST", `/v1/conversations/${conv.id}/fork`, {
      at_seq: 1,
      labels: ["branch"],
    });
    assert.equal(bySeq.status, 200);
    assert.equal(bySeq.json.item_count, 1);
    assert.deepEqual(bySeq.json.fork_parent, { id: conv.id, at_seq: 1 });
    assert.deepEqual(bySeq.json.labels, ["branch"]);
    const byItem = await t.call("POST", `/v1/conversations/${conv.id}/fork`, { at_item_id: "msg_b" });
    assert.equal(byItem.json.item_count, 2);
    await t.call("POST", `/v1/conversations/${byItem.json.id}/items`, { items: [userMessage("fork only")] });
    assert.equal((await t.call("GET", `/v1/conversations/${conv.id}`)).json.item_count, 3);
    const whole = await t.app.inject({ method: "POST", url: `/v1/conversations/${conv.id}/fork` });
    assert.equal(whole.json().item_count, 3);
  });

  test("fork past the end or with both cursors is 400; of an unknown conversation 404", async () => {
    const conv = await conversation([userMessage("1")]);
    assert.equal((await t.call("POST", `/v1/conversations/${conv.id}/fork`, { at_seq: 9 })).status, 400);
    const both = await t.call("POST", `/v1/conversations/${conv.id}/fork`, {
      at_seq: 1,
      at_item_id: "msg_x",
    });
    assert.equal(both.status, 400);
    const missing = await t.call("POST", "/v1/conversations/conv_0000000000000000/fork", {});
    assert.equal(missing.status, 404);
    const noItem = await t.call("POST", `/v1/conversations/${conv.id}/fork`, { at_item_id: "msg_x" });
    assert.equal(noItem.status, 404);
    assert.equal(noItem.json.error.param, "at_item_id");
  });
});
