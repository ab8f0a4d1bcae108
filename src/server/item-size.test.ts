/**
 * An input item over the store's per-item limit (possible once `bodyLimit` is raised above
 * 1 MiB) is refused before the turn writes anything, with the store's own code: it was refused
 * only by the input append, after a turn without a conversation had created an empty session.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { LIMITS } from "../store/validate.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

describe("an input item larger than the store accepts", () => {
  let t: TestApp;
  let gateway: Gateway;
  let store: SessionStore;
  const big = "x".repeat(LIMITS.itemBytes);
  const sessions = async () => (await store.list("default", { limit: 1000 })).data.length;

  before(async () => {
    store = await createStore("memory:");
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    t = await openTestApp({
      store,
      bodyLimit: 4 * LIMITS.itemBytes,
      gateway: { engine: gateway.engine, models: gateway.models },
    });
  });
  after(async () => {
    await gateway.close();
    await t.close();
  });

  test("LIMITS.itemBytes is the store's default limit", async () => {
    const conv = await store.create("default");
    const content = (bytes: number) => ({ type: "x", t: "y".repeat(bytes - '{"type":"x","t":""}'.length) });
    await store.append("default", conv.id, [{ content: content(LIMITS.itemBytes) }]);
    await assert.rejects(store.append("default", conv.id, [{ content: content(LIMITS.itemBytes + 1) }]), {
      code: "payload_too_large",
    });
  });

  test("is refused with the store's code before a session is created", async () => {
    const count = await sessions();
    const small = { role: "user", content: "hi" };
    for (const [url, body, param] of [
      ["/v1/responses", { model: "mock", input: big }, "input[0]"],
      ["/v1/responses", { model: "mock", input: [small, { role: "user", content: big }] }, "input[1]"],
      ["/v1/chat/completions", { model: "mock", messages: [{ role: "user", content: big }] }, "messages[0]"],
    ] as const) {
      const res = await t.call("POST", url, body);
      assert.equal(res.status, 413, `${url}: ${JSON.stringify(res.json).slice(0, 300)}`);
      assert.equal(res.json.error.code, "payload_too_large");
      assert.equal(res.json.error.param, param);
      assert.match(res.json.error.message, /the limit is 1048576 bytes/);
      assert.equal(await sessions(), count, `${url}: no session was created`);
    }
  });

  test("on a conversation, nothing is appended and the conversation keeps working", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id;
    const res = await t.call("POST", "/v1/responses", { model: "mock", input: big, conversation: conv });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.param, "input[0]");
    assert.equal((await store.get("default", conv)).itemCount, 0);
    const ok = await t.call("POST", "/v1/responses", { model: "mock", input: "hi", conversation: conv });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  test("a request whose response record would not fit is refused before the model is called", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id;
    const tool = (i: number) => ({
      type: "function",
      name: `tool_${i}`,
      description: "d".repeat(100_000),
      parameters: { type: "object", properties: {} },
    });
    const cases = [
      [{ tools: Array.from({ length: 11 }, (_, i) => tool(i)) }, "tools"],
      [{ instructions: "i".repeat(LIMITS.itemBytes) }, "instructions"],
    ] as const;
    for (const [extra, param] of cases) {
      const res = await t.call("POST", "/v1/responses", {
        model: "mock",
        input: "hi",
        conversation: conv,
        ...extra,
      });
      assert.equal(res.status, 413, JSON.stringify(res.json).slice(0, 300));
      assert.equal(res.json.error.code, "payload_too_large");
      assert.equal(res.json.error.param, param);
      assert.match(res.json.error.message, /response record/);
      assert.equal((await store.get("default", conv)).itemCount, 0, `${param}: nothing was appended`);
    }
    // Big, but with room for the record: answered and stored.
    const fits = await t.call("POST", "/v1/responses", {
      model: "mock",
      input: "hi",
      conversation: conv,
      tools: Array.from({ length: 9 }, (_, i) => tool(i)),
    });
    assert.equal(fits.status, 200, JSON.stringify(fits.json).slice(0, 300));
    assert.equal((await store.get("default", conv)).itemCount, 3);
  });
});
