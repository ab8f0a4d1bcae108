/**
 * `POST /v1/conversations` honours `Idempotency-Key` as `POST …/items` does: a retried create
 * returns the first conversation instead of making a second one, and the key reused with another
 * body is a 409 that creates nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

const schema = uniqueSchema();

for (const [name, url] of [
  ["memory", "memory:"],
  ["postgres", schemaUrl(schema)],
] as const) {
  describe(`idempotent conversation create (${name})`, () => {
    let t: TestApp;
    let n = 0;
    const newKey = () => `create-${name}-${++n}`;
    const count = async () => (await t.store.list("default", { limit: 1000 })).data.length;
    const create = (body: object, key?: string, headers: Record<string, string> = {}) =>
      t.call(
        "POST",
        "/v1/conversations",
        body,
        key === undefined ? headers : { ...headers, "idempotency-key": key },
      );
    const body = {
      metadata: { topic: "retry" },
      labels: ["b", "a"],
      state: { step: 1 },
      items: [
        { role: "user", content: "hello" },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "hi" }], id: "msg_1" },
      ],
    };

    before(async () => {
      t = await openTestApp({
        store: await createStore(url),
        resolveTenant: (req) => String(req.headers["x-test-tenant"] ?? "default"),
      });
    });
    after(async () => {
      await t.close();
      if (name === "postgres") await dropSchema(schema);
    });

    test("a retry with the same key and body returns the first conversation", async () => {
      const key = newKey();
      const before = await count();
      const first = await create(body, key);
      assert.equal(first.status, 200, JSON.stringify(first.json));
      const again = await create(body, key);
      assert.equal(again.status, 200, JSON.stringify(again.json));
      assert.equal(again.json.id, first.json.id);
      assert.equal(again.json.item_count, 2);
      assert.equal(again.headers["idempotent-replayed"], "true");
      assert.equal(again.headers.etag, first.headers.etag);
      assert.equal(await count(), before + 1, "one conversation");
      const empty = newKey();
      const a = await create({}, empty);
      const b = await create({}, empty);
      assert.equal(b.status, 200);
      assert.equal(b.json.id, a.json.id);
      // Concurrent attempts land on the same conversation too.
      const racing = newKey();
      const both = await Promise.all([create(body, racing), create(body, racing)]);
      assert.deepEqual(
        both.map((r) => r.status),
        [200, 200],
      );
      assert.equal(both[0].json.id, both[1].json.id);
    });

    test("the same key with another body is a 409 that creates nothing", async () => {
      const key = newKey();
      const first = await create(body, key);
      const before = await count();
      for (const other of [
        { ...body, metadata: { topic: "other" } },
        { ...body, items: body.items.slice(0, 1) },
        { ...body, items: [body.items[0], { ...body.items[1], id: "msg_2" }] },
        { ...body, state: { step: 2 } },
        { ...body, pinned: true },
        {},
      ]) {
        const res = await create(other, key);
        assert.equal(res.status, 409, JSON.stringify(res.json));
        assert.equal(res.json.error.code, "idempotency_conflict");
        assert.equal(res.json.error.param, "Idempotency-Key");
      }
      assert.equal(await count(), before, "nothing was created");
      const stored = await t.call("GET", `/v1/conversations/${first.json.id}`);
      assert.deepEqual(stored.json.metadata, body.metadata, "nothing was overwritten");
    });

    test("a conversation changed since its create is not replayed as if untouched", async () => {
      const key = newKey();
      const first = await create(body, key);
      await t.call("POST", `/v1/conversations/${first.json.id}`, { metadata: { topic: "changed" } });
      const res = await create(body, key);
      assert.equal(res.status, 409);
      assert.match(res.json.error.message, new RegExp(first.json.id));
    });

    test("keys are per tenant, creates without a key are never merged, bad keys are 400", async () => {
      const key = newKey();
      const mine = await create({}, key);
      const theirs = await create({}, key, { "x-test-tenant": "acme" });
      assert.equal(theirs.status, 200);
      assert.notEqual(theirs.json.id, mine.json.id);
      assert.notEqual((await create({})).json.id, (await create({})).json.id);
      const bad = await create({}, "has space");
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.param, "Idempotency-Key");
    });
  });
}
