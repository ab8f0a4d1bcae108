/**
 * The stateful gateway through the official `openai` SDK and the OpenAI Agents SDK, unmodified,
 * against a listening server with the built-in mock model.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  Agent,
  OpenAIConversationsSession,
  OpenAIResponsesModel,
  run,
  setTracingDisabled,
  tool,
} from "@openai/agents";
import OpenAI from "openai";
import { z } from "zod";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";

setTracingDisabled(true);

describe("gateway through the openai SDK", () => {
  let store: SessionStore;
  let gateway: Gateway;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    store = await createStore("memory:");
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    const app = await createServer({ store, gateway: { engine: gateway.engine, models: gateway.models } });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    close = async () => {
      await app.close();
      await gateway.close();
      await store.close();
    };
  });
  after(() => close());

  test("responses in a conversation: output_text, stored items, retrieve, input items", async () => {
    const conv = await client.conversations.create({});
    const r = await client.responses.create({
      model: "mock",
      input: "Hello from the SDK",
      conversation: conv.id,
    });
    assert.equal(r.status, "completed");
    assert.match(r.output_text, /Hello from the SDK/);
    const items = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.deepEqual(
      items.data.map((i) => i.type),
      ["message", "message"],
    );
    const again = await client.responses.retrieve(r.id);
    assert.equal(again.output_text, r.output_text);
    // Retrieve-as-a-stream is refused with a 400 naming stream, not answered with JSON an SSE parser drops.
    await assert.rejects(client.responses.retrieve(r.id, { stream: true }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.code, "invalid_argument");
      assert.equal(error.param, "stream");
      return true;
    });
    assert.equal((await client.responses.retrieve(r.id, { stream: false })).id, r.id);
    const inputs = await client.responses.inputItems.list(r.id);
    assert.equal(inputs.data.length, 1);
    await client.responses.create({ model: "mock", input: "and again", conversation: conv.id });
    const usage = (await client.get(`/conversations/${conv.id}/usage`)) as {
      turns: { response_id: string; input_tokens: number }[];
      total: { turns: number; input_tokens: number; output_tokens: number };
    };
    assert.equal(usage.total.turns, 2);
    assert.equal(usage.turns[0]?.response_id, r.id);
    assert.equal(
      usage.total.input_tokens,
      usage.turns.reduce((n, t) => n + t.input_tokens, 0),
    );
    assert.ok(usage.total.output_tokens > 0);
  });

  test("previous_response_id carries the history", async () => {
    const first = await client.responses.create({ model: "mock", input: "my name is Ada" });
    const second = await client.responses.create({
      model: "mock",
      input: "what did I say?",
      previous_response_id: first.id,
    });
    assert.equal(second.previous_response_id, first.id);
    assert.ok(second.usage && second.usage.input_tokens > (first.usage?.input_tokens ?? 0));
  });

  test("streaming emits typed events and a completed response", async () => {
    const stream = await client.responses.create({
      model: "mock",
      input: "stream this please",
      stream: true,
    });
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    assert.equal(types[0], "response.created");
    assert.equal(types.at(-1), "response.completed");
    assert.ok(types.includes("response.output_item.done"));
    assert.match(text, /stream this please/);
  });

  test("function calling round trip", async () => {
    const tools = [
      {
        type: "function" as const,
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        strict: false,
      },
    ];
    const r1 = await client.responses.create({ model: "mock", input: "please call get_weather", tools });
    const call = r1.output.find((o) => o.type === "function_call");
    assert.ok(call && call.type === "function_call");
    const r2 = await client.responses.create({
      model: "mock",
      previous_response_id: r1.id,
      tools,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny, 21C" }],
    });
    assert.match(r2.output_text, /sunny, 21C/);
  });

  test("chat completions: stateless, then with Holdfast-Conversation, and streaming", async () => {
    const plain = await client.chat.completions.create({
      model: "mock",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(plain.object, "chat.completion");
    assert.match(plain.choices[0]?.message.content ?? "", /hi/);
    const conv = await client.conversations.create({});
    const headers = { "Holdfast-Conversation": conv.id };
    await client.chat.completions.create(
      { model: "mock", messages: [{ role: "user", content: "remember the word kestrel" }] },
      { headers },
    );
    const stream = await client.chat.completions.create(
      {
        model: "mock",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "and now?" }],
      },
      { headers },
    );
    let text = "";
    let usage = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage += chunk.usage?.total_tokens ?? 0;
    }
    assert.match(text, /and now/);
    assert.ok(usage > 0);
    const items = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.equal(items.data.length, 4);
  });

  test("models and errors in OpenAI's shape", async () => {
    const models = await client.models.list();
    assert.ok(models.data.some((m) => m.id === "mock"));
    await assert.rejects(
      client.responses.create({
        model: "mock",
        input: "x",
        conversation: "conv_00000000000000000000000000000000",
      }),
      (error: unknown) => error instanceof OpenAI.NotFoundError,
    );
    await assert.rejects(
      client.responses.create({ model: "mock", input: 42 as never }),
      (error: unknown) =>
        error instanceof OpenAI.BadRequestError && (error as { code?: string }).code === "invalid_argument",
    );
  });

  test("the Agents SDK runs multi-turn with a function tool on OpenAIConversationsSession", async () => {
    const calls: string[] = [];
    const getWeather = tool({
      name: "get_weather",
      description: "Weather for a city",
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return `It is sunny in ${city}.`;
      },
    });
    const agent = new Agent({
      name: "assistant",
      instructions: "You are helpful.",
      model: new OpenAIResponsesModel(client, "mock"),
      tools: [getWeather],
    });
    const session = new OpenAIConversationsSession({ client });
    const first = await run(agent, "please call get_weather", { session });
    assert.equal(calls.length, 1);
    assert.match(String(first.finalOutput), /sunny/);
    const second = await run(agent, "thank you", { session });
    assert.match(String(second.finalOutput), /thank you/);
    const history = await session.getItems();
    const types = history.map((i) => (i as { type?: string }).type ?? "message");
    // The Agents SDK names stored function_call_output items `function_call_result`.
    assert.deepEqual(types, [
      "message",
      "function_call",
      "function_call_result",
      "message",
      "message",
      "message",
    ]);
    assert.equal(history.filter((i) => (i as { role?: string }).role === "user").length, 2);
  });
});
