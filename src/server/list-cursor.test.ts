/**
 * A list cursor is opaque, but a client can forge one: a number Postgres cannot bind as a bigint
 * (1e308, 1.5, negative) or an id holding a NUL was a 500 there. Every driver answers the 400 a
 * garbage cursor gets.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

const schema = uniqueSchema();
const cursor = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString("base64url");

for (const [name, url] of [
  ["memory", "memory:"],
  ["postgres", schemaUrl(schema)],
] as const) {
  describe(`a forged list cursor is a 400 (${name})`, () => {
    let t: TestApp;
    before(async () => {
      t = await openTestApp({ store: await createStore(url) });
      await t.call("POST", "/v1/conversations", {});
      await t.call("POST", "/v1/conversations", {});
    });
    after(async () => {
      await t.close();
      if (name === "postgres") await dropSchema(schema);
    });

    test("numbers and ids no cursor of this store holds", async () => {
      const id = "conv_0123456789abcdef0123456789abcdef";
      for (const key of [
        [1e308, id],
        [1.5, id],
        [-1, id],
        [Number.MAX_SAFE_INTEGER + 2, id],
        [1, "conv_abc\u0000defghij"],
        [1, "not-a-session"],
        [1, ""],
        [1, 5],
      ]) {
        const res = await t.call("GET", `/v1/conversations?after=${cursor(key)}`);
        assert.equal(res.status, 400, `${JSON.stringify(key)}: ${JSON.stringify(res.json)}`);
        assert.equal(res.json.error.code, "invalid_argument");
        assert.equal(res.json.error.param, "cursor");
      }
    });

    test("the store refuses them for every sort, not only the default one", async () => {
      for (const sort of ["updated", "items", "bytes"] as const) {
        const forged = cursor([1e308, "conv_0123456789abcdef", sort]);
        await assert.rejects(t.store.list("default", { sort, cursor: forged }), { code: "invalid_argument" });
      }
    });

    test("a real cursor still pages", async () => {
      const first = await t.call("GET", "/v1/conversations?limit=1");
      assert.equal(first.status, 200);
      const next = await t.call("GET", `/v1/conversations?limit=1&after=${first.json.next_cursor}`);
      assert.equal(next.status, 200, JSON.stringify(next.json));
      assert.equal(next.json.data.length, 1);
      assert.notEqual(next.json.data[0].id, first.json.data[0].id);
    });
  });
}
