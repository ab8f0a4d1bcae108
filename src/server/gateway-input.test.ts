/**
 * Bad turn input through HTTP: every rejection is a 400 naming the field, and it writes nothing —
 * no session, no fork, no input item that would break the conversation's later turns.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

const TOOLS = [{ type: "function", name: "lookup", parameters: { type: "object", properties: {} } }];
const output = (callId: string) => ({ type: "function_call_output", call_id: callId, output: "42" });

describe("bad turn input is refused before anything is written", () => {
  let t: TestApp;
  let gateway: Gateway;
  // Sessions, and items per session: what a rejected request must leave unchanged.
  const snapshot = async (): Promise<string> => {
    const sessions = (await t.store.list("default", { limit: 1000 })).data;
    return JSON.stringify(sessions.map((s) => [s.id, s.itemCount, s.version]));
  };
  const refused = async (url: string, body: object, param: string, headers = {}): Promise<string> => {
    const before = await snapshot();
    const res = await t.call("POST", url, body, headers);
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.error.code, "invalid_argument");
    assert.equal(res.json.error.param, param);
    assert.equal(await snapshot(), before, "a rejected request wrote nothing");
    return res.json.error.message;
  };

  before(async () => {
    const store = await createStore("memory:");
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    t = await openTestApp({ store, gateway: { engine: gateway.engine, models: gateway.models } });
  });
  after(async () => {
    await gateway.close();
    await t.close();
  });

  test("a function_call_output answering no call is 400, and the conversation keeps working", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id;
    const turn = { model: "mock", tools: TOOLS };
    await refused(
      "/v1/responses",
      { ...turn, input: [output("nope")], conversation: conv },
      "input[0].call_id",
    );
    await refused("/v1/responses", { ...turn, input: [output("nope")] }, "input[0].call_id");
    await refused("/v1/responses", { ...turn, input: [output("nope")], store: false }, "input[0].call_id");
    const chat = { model: "mock", messages: [{ role: "tool", tool_call_id: "nope", content: "x" }] };
    await refused("/v1/chat/completions", chat, "messages[0].tool_call_id", {
      "holdfast-conversation": conv,
    });
    // The refused outputs were not stored: a plain turn on the conversation still runs.
    const ok = await t.call("POST", "/v1/responses", { ...turn, input: "hello", conversation: conv });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  test("a function_call without its output, or a call answered twice, is 400", async () => {
    const call = { type: "function_call", call_id: "c1", name: "lookup", arguments: "{}" };
    await refused("/v1/responses", { model: "mock", input: [call] }, "input[0].call_id");
    await refused(
      "/v1/responses",
      { model: "mock", input: [call, output("c1"), output("c1")] },
      "input[2].call_id",
    );
    const first = await t.call("POST", "/v1/responses", {
      model: "mock",
      input: "call lookup",
      tools: TOOLS,
    });
    const callId = first.json.output[0].call_id;
    const answer = { model: "mock", tools: TOOLS, input: [output(callId)] };
    const second = await t.call("POST", "/v1/responses", { ...answer, previous_response_id: first.json.id });
    assert.equal(second.status, 200, JSON.stringify(second.json));
    const message = await refused(
      "/v1/responses",
      { ...answer, previous_response_id: second.json.id },
      "input[0].call_id",
    );
    assert.match(message, /already has a function_call_output/);
  });

  test("input the store would refuse is 400 before a session is created", async () => {
    const msg = (id: string) => ({ role: "user", content: "hi", id });
    await refused("/v1/responses", { model: "mock", input: [msg("bad id")] }, "input[0].id");
    await refused("/v1/responses", { model: "mock", input: [msg("m1"), msg("m1")] }, "input[1].id");
    await refused("/v1/responses", { model: "mock", input: [] }, "input");
    const part = { role: "user", content: [{ type: "input_text", text: 5 }] };
    await refused("/v1/responses", { model: "mock", input: [part] }, "input[0].content[0].text");
    // Nesting past the store's limit: refused as input[i], before the turn creates its session.
    const deep = JSON.parse(`${"[".repeat(70)}${"]".repeat(70)}`);
    const call = { type: "function_call", call_id: "c", name: "f", arguments: "{}", extra: deep };
    const answer = { type: "function_call_output", call_id: "c", output: "x" };
    await refused("/v1/responses", { model: "mock", input: [call, answer] }, "input[0]");
  });

  test("options of the wrong type or shape are 400, never read as something else", async () => {
    const turn = { model: "mock", input: "hi" };
    await refused("/v1/responses", { ...turn, previous_response_id: "" }, "previous_response_id");
    await refused("/v1/responses", { ...turn, stream: "true" }, "stream");
    await refused("/v1/responses", { ...turn, parallel_tool_calls: "no" }, "parallel_tool_calls");
    const chat = { model: "mock", messages: [{ role: "user", content: "hi" }] };
    await refused("/v1/chat/completions", { ...chat, stream: 1 }, "stream");
    // Chat's token limits are named as the client sent them, not as the Responses field they become.
    await refused("/v1/chat/completions", { ...chat, max_tokens: -1 }, "max_tokens");
    await refused("/v1/chat/completions", { ...chat, max_tokens: "64" }, "max_tokens");
    await refused(
      "/v1/chat/completions",
      { ...chat, max_completion_tokens: 0, max_tokens: 64 },
      "max_completion_tokens",
    );
    // Chat accepts any limit from 1, as OpenAI's Chat API does; Responses keeps its minimum of 16.
    for (const key of ["max_tokens", "max_completion_tokens"]) {
      const ok = await t.call("POST", "/v1/chat/completions", { ...chat, [key]: 1 });
      assert.equal(ok.status, 200, `${key}: ${JSON.stringify(ok.json)}`);
    }
    await refused("/v1/responses", { ...turn, max_output_tokens: 15 }, "max_output_tokens");
    const tool = (parameters: object) => ({ type: "function", name: "f", parameters });
    await refused(
      "/v1/responses",
      { ...turn, tools: [tool({ properties: 5 })] },
      "tools[0].parameters.properties",
    );
    await refused(
      "/v1/responses",
      { ...turn, tools: [tool({ required: "a" })] },
      "tools[0].parameters.required",
    );
    await refused("/v1/responses", { ...turn, tools: [tool({}), tool({})] }, "tools[1].name");
  });

  test("input_items takes OpenAI's list parameters and refuses bad ones", async () => {
    const input = ["a", "b", "c"].map((text, i) => ({ id: `in_${i}`, role: "user", content: text }));
    const r = (await t.call("POST", "/v1/responses", { model: "mock", input })).json;
    const url = `/v1/responses/${r.id}/input_items`;
    const ids = async (query: string) =>
      (await t.call("GET", `${url}${query}`)).json.data.map((i: { id: string }) => i.id);
    assert.deepEqual(await ids(""), ["in_2", "in_1", "in_0"], "newest first by default, as OpenAI");
    assert.deepEqual(await ids("?order=asc&limit=2"), ["in_0", "in_1"]);
    const page = await t.call("GET", `${url}?order=asc&limit=2&after=in_1`);
    assert.deepEqual(
      page.json.data.map((i: { id: string }) => i.id),
      ["in_2"],
    );
    assert.equal(page.json.has_more, false);
    assert.equal((await t.call("GET", `${url}?limit=1`)).json.has_more, true);
    for (const [query, param] of [
      ["?limit=0", "limit"],
      ["?limit=101", "limit"],
      ["?limit=abc", "limit"],
      ["?order=sideways", "order"],
      ["?after=a%20b", "after"],
      ["?bogus=1", "bogus"],
    ]) {
      const res = await t.call("GET", `${url}${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.error.param, param, query);
    }
    const unknown = await t.call("GET", `${url}?after=in_9`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.param, "after");
  });

  test("a stored call left unanswered is named, not reported as a context overflow", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id;
    const turn = { model: "mock", tools: TOOLS, conversation: conv };
    const first = await t.call("POST", "/v1/responses", { ...turn, input: "call lookup" });
    assert.equal(first.json.output[0].type, "function_call");
    const res = await t.call("POST", "/v1/responses", { ...turn, input: "never mind" });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, "invalid_argument");
    assert.match(res.json.error.message, /function_call .* has no output after it/);
    const auto = await t.call("POST", "/v1/responses", { ...turn, input: "again", truncation: "auto" });
    assert.equal(auto.status, 200, "truncation auto leaves the unanswered call out");
  });
});
