/**
 * Strings that become database columns (owners, call ids, item statuses) are checked at the door:
 * Postgres cannot store NUL, so such a value was a 500 — after a turn without a conversation had
 * already created its session. Each driver that the test can reach must answer 400 and write nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

const schema = uniqueSchema();

for (const [name, url] of [
  ["memory", "memory:"],
  ["postgres", schemaUrl(schema)],
] as const) {
  describe(`names with control characters are 400 before any write (${name})`, () => {
    let t: TestApp;
    let gateway: Gateway;
    let conv: string;
    const sessions = async () => (await t.store.list("default", { limit: 1000 })).data.length;
    const refused = async (method: "GET" | "POST", path: string, body: object | undefined, param: string) => {
      const count = await sessions();
      const res = await t.call(method, path, body);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, "invalid_argument");
      assert.equal(res.json.error.param, param);
      assert.equal(await sessions(), count, "no session was created");
    };

    before(async () => {
      const store = await createStore(url);
      gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
      t = await openTestApp({ store, gateway: { engine: gateway.engine, models: gateway.models } });
      conv = (await t.call("POST", "/v1/conversations", {})).json.id;
    });
    after(async () => {
      await gateway.close();
      await t.close();
      if (name === "postgres") await dropSchema(schema);
    });

    test("an owner, in a body or a list filter", async () => {
      await refused("POST", "/v1/conversations", { owner: "alice\u0000" }, "owner");
      await refused("POST", `/v1/conversations/${conv}`, { owner: "a\u0001b" }, "owner");
      await refused("GET", "/v1/conversations?owner=alice%00", undefined, "owner");
    });

    test("a call id or an item status, in an item create or a turn's input", async () => {
      const call = { type: "function_call", call_id: "c\u0000", name: "f", arguments: "{}" };
      const output = { type: "function_call_output", call_id: "c\u0000", output: "ok" };
      const items = `/v1/conversations/${conv}/items`;
      await refused("POST", items, { items: [call] }, "items[0].call_id");
      await refused(
        "POST",
        items,
        { items: [{ role: "user", content: "x", status: "done\u0000" }] },
        "items[0].status",
      );
      await refused("POST", items, { items: [{ role: "user", content: "x", status: 5 }] }, "items[0].status");
      await refused("POST", "/v1/responses", { model: "mock", input: [call, output] }, "input[0].call_id");
      const input = [{ role: "user", content: "x", status: "done\u0000" }];
      await refused("POST", "/v1/responses", { model: "mock", input }, "input[0].status");
      const stored = await t.call("GET", `${items}`);
      assert.equal(stored.json.data.length, 0, "no item was stored");
      // OpenAI's statuses still pass.
      const ok = await t.call("POST", items, {
        items: [{ role: "user", content: "x", status: "completed" }],
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
    });
  });
}
