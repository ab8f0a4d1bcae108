import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import type { JsonObject, SessionStore } from "../../store/types.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { createMockProvider } from "../providers/mock.ts";
import type { TurnEvent, TurnRequest } from "../providers/types.ts";
import { longConversation, longNote } from "./long-conversation-test-support.ts";
import { RESPONSES_LABEL } from "./plan.ts";
import { readInputItems, readResponse } from "./response-reads.ts";
import { type EngineEvent, TurnEngine } from "./turn-engine.ts";
import type { ModelInvoker } from "./turn-types.ts";
import { conversationUsage } from "./usage.ts";

function mockInvoker(overrides: Partial<ModelInvoker> = {}): ModelInvoker & { requests: TurnRequest[] } {
  const provider = createMockProvider();
  const requests: TurnRequest[] = [];
  return {
    requests,
    describe: (model) => {
      if (model === "nope") throw Object.assign(new Error("unknown"), { code: "model_not_found" });
      const mock = getDefaultCatalog().get("mock");
      return { ...mock, contextWindow: model === "tiny" ? 700 : 100_000, maxOutputTokens: 100 };
    },
    complete: (request) => {
      requests.push(request);
      return provider.complete(request);
    },
    stream: (request) => {
      requests.push(request);
      return provider.stream(request);
    },
    ...overrides,
  };
}

async function setup(overrides?: Partial<ModelInvoker>): Promise<{
  store: SessionStore;
  engine: TurnEngine;
  invoker: ReturnType<typeof mockInvoker>;
}> {
  const store = await createStore("memory:");
  const invoker = mockInvoker(overrides);
  return { store, engine: new TurnEngine({ store, invoker, reserveTokens: 0, compaction: false }), invoker };
}

const text = (response: JsonObject): string =>
  JSON.stringify((response.output as JsonObject[]).map((o) => o.content ?? o.arguments));

describe("turn engine", () => {
  it("runs a turn in a conversation: input, output and the record land in order", async () => {
    const { store, engine } = await setup();
    const conv = await store.create("t");
    const r = await engine.respond("t", { model: "mock", input: "hello there", conversation: conv.id });
    assert.equal(r.object, "response");
    assert.equal(r.status, "completed");
    assert.deepEqual(r.conversation, { id: conv.id });
    const items = await store.readItems("t", conv.id);
    assert.deepEqual(
      items.map((i) => i.type),
      ["message", "message", "response_record"],
    );
    assert.equal(items[2]?.id, r.id);
    assert.equal(items[2]?.tokens, 0);
    assert.deepEqual(await readResponse(store, "t", r.id as string), r);
    const inputs = await readInputItems(store, "t", r.id as string);
    assert.equal(inputs.length, 1);
    assert.equal(inputs[0]?.role, "user");
  });

  it("chains previous_response_id, and forks when answering an older response", async () => {
    const { store, engine, invoker } = await setup();
    const first = await engine.respond("t", { model: "mock", input: "first question" });
    const second = await engine.respond("t", {
      model: "mock",
      input: "second",
      previous_response_id: first.id,
    });
    const last = invoker.requests.at(-1)!;
    assert.equal(last.input.length, 3, "history + new input went upstream");
    const sessionOf = (id: unknown) => `conv_${String(id).slice(21)}`;
    assert.equal(sessionOf(second.id), sessionOf(first.id));
    const branch = await engine.respond("t", {
      model: "mock",
      input: "branch",
      previous_response_id: first.id,
    });
    assert.notEqual(sessionOf(branch.id), sessionOf(first.id));
    const forked = await store.get("t", sessionOf(branch.id));
    assert.deepEqual(forked.labels, [RESPONSES_LABEL]);
    assert.ok(!JSON.stringify(invoker.requests.at(-1)!.input).includes("second"));
  });

  it("replays a turn retried with the same idempotency key", async () => {
    const { store, engine, invoker } = await setup();
    const conv = await store.create("t");
    const body = { model: "mock", input: "once", conversation: conv.id };
    const a = await engine.respond("t", body, { idempotencyKey: "k1" });
    const b = await engine.respond("t", body, { idempotencyKey: "k1" });
    assert.deepEqual(b, a);
    assert.equal(invoker.requests.length, 1);
    assert.equal((await store.get("t", conv.id)).itemCount, 3);
    const c = await engine.respond(
      "t",
      { model: "mock", input: "no conversation" },
      { idempotencyKey: "k2" },
    );
    const d = await engine.respond(
      "t",
      { model: "mock", input: "no conversation" },
      { idempotencyKey: "k2" },
    );
    assert.equal(d.id, c.id);
  });

  it("round-trips function calls: call out, output in on the next request", async () => {
    const { store, engine, invoker } = await setup();
    const conv = await store.create("t");
    const tools = [{ type: "function", name: "get_weather", parameters: { type: "object", properties: {} } }];
    const r1 = await engine.respond("t", {
      model: "mock",
      input: "please call get_weather",
      tools,
      conversation: conv.id,
    });
    const call = (r1.output as JsonObject[]).find((o) => o.type === "function_call");
    assert.ok(call, `expected a function call, got ${text(r1)}`);
    await engine.respond("t", {
      model: "mock",
      conversation: conv.id,
      tools,
      input: [{ type: "function_call_output", call_id: call.call_id, output: '{"temp":21}' }],
    });
    const sent = invoker.requests.at(-1)!.input.map((i) => i.type);
    assert.deepEqual(sent, ["message", "function_call", "function_call_output"]);
  });

  it("rejects bad requests with typed 4xx errors before touching the store", async () => {
    const { store, engine } = await setup();
    const conv = await store.create("t");
    const code = async (body: unknown) =>
      engine.respond("t", body).then(
        () => "ok",
        (e: { code?: string }) => e.code,
      );
    assert.equal(await code({ input: "x" }), "invalid_argument");
    assert.equal(await code({ model: "mock" }), "invalid_argument");
    assert.equal(await code({ model: "nope", input: "x" }), "model_not_found");
    assert.equal(await code({ model: "mock", input: 5 }), "invalid_argument");
    assert.equal(
      await code({ model: "mock", input: "x", tools: [{ type: "function", name: "bad name!" }] }),
      "invalid_argument",
    );
    assert.equal(
      await code({ model: "mock", input: "x", conversation: conv.id, previous_response_id: "resp_x" }),
      "invalid_argument",
    );
    assert.equal(
      await code({ model: "mock", input: "x", previous_response_id: "resp_nothing" }),
      "invalid_argument",
    );
    assert.equal(
      await code({ model: "mock", input: "x", conversation: "conv_00000000000000000000000000000000" }),
      "not_found",
    );
    assert.equal((await store.get("t", conv.id)).itemCount, 0);
  });

  it("errors with context_length_exceeded under truncation disabled, fits under auto", async () => {
    const { store, engine, invoker } = await setup();
    const conv = await store.create("t");
    for (let i = 0; i < 8; i++) {
      await store.append("t", conv.id, [
        {
          content: {
            type: "message",
            role: "user",
            content: [{ type: "input_text", text: "x".repeat(400) }],
          },
        },
      ]);
    }
    const body = { model: "tiny", input: "hi", conversation: conv.id };
    await assert.rejects(
      engine.respond("t", body),
      (e: { code?: string }) => e.code === "context_length_exceeded",
    );
    await engine.respond("t", { ...body, truncation: "auto" });
    assert.ok(invoker.requests.at(-1)!.input.length < 9);
  });

  it("streams events and commits a stream cut short by the client as incomplete", async () => {
    const { store, engine } = await setup();
    const conv = await store.create("t");
    const events: EngineEvent[] = [];
    for await (const event of engine.respondStream("t", {
      model: "mock",
      input: "tell me a long story",
      conversation: conv.id,
    })) {
      events.push(event);
    }
    assert.equal(events[0]?.type, "created");
    assert.equal(events.at(-1)?.type, "completed");
    assert.ok(events.some((e) => e.type === "provider" && (e.event as TurnEvent).type === "text_delta"));

    const controller = new AbortController();
    const stream = engine.respondStream(
      "t",
      { model: "mock", input: "another long story", conversation: conv.id },
      {
        signal: controller.signal,
      },
    );
    for await (const event of stream) {
      if (event.type === "provider" && event.event.type === "text_delta") break; // client disconnects
    }
    const items = await store.readItems("t", conv.id);
    const record = items.at(-1)!;
    assert.equal(record.type, "response_record");
    assert.equal(record.content.status, "incomplete");
  });

  it("compacts automatically when the stored window nears the budget, and on a provider overflow", async () => {
    const store = await createStore("memory:");
    let overflowOnce = true;
    const invoker = mockInvoker({
      complete: async (request) => {
        invoker.requests.push(request);
        if (request.instructions?.startsWith("You compact")) return createMockProvider().complete(request);
        if (overflowOnce && JSON.stringify(request.input).includes("overflow please")) {
          overflowOnce = false;
          throw Object.assign(new Error("This model's maximum context length is exceeded"), {
            code: "context_length_exceeded",
          });
        }
        return createMockProvider().complete(request);
      },
    });
    const engine = new TurnEngine({ store, invoker, reserveTokens: 0, compaction: { threshold: 0.5 } });
    const conv = { id: await longConversation(store) };
    await engine.respond("t", { model: "tiny", input: "hi", conversation: conv.id, truncation: "auto" });
    const afterAuto = await store.readItems("t", conv.id, { limit: 1000 });
    assert.ok(
      afterAuto.some((i) => i.type === "summary"),
      "auto-compaction appended a summary",
    );
    const sent = invoker.requests.at(-1)!.input;
    assert.ok(JSON.stringify(sent[0]).includes("[holdfast: summary of the earlier conversation"));

    // Overflow recovery on its own: an engine whose automatic threshold is not reached.
    const lenient = new TurnEngine({ store, invoker, reserveTokens: 0, compaction: { threshold: 1 } });
    await store.append(
      "t",
      conv.id,
      Array.from({ length: 2 }, (_, i) => longNote(100 + i)),
    );
    const before = (await store.readItems("t", conv.id, { limit: 1000 })).filter(
      (i) => i.type === "summary",
    ).length;
    const r = await lenient.respond("t", {
      model: "tiny",
      input: "overflow please",
      conversation: conv.id,
      truncation: "auto",
    });
    assert.equal(r.status, "completed");
    const summaries = (await store.readItems("t", conv.id, { limit: 1000 })).filter(
      (i) => i.type === "summary",
    ).length;
    assert.equal(summaries, before + 1, "the overflow was answered by compacting once");
    assert.equal(overflowOnce, false);
  });
  it("estimates usage an upstream did not report, streamed and not, and prices the estimate", async () => {
    const provider = createMockProvider();
    const zero = { input_tokens: 0, output_tokens: 0, cached_tokens: 0 };
    // An upstream that reports no usage (a Chat Completions server without include_usage).
    async function* withoutUsage(request: TurnRequest): AsyncGenerator<TurnEvent> {
      for await (const event of provider.stream(request)) {
        if (event.type === "usage") continue;
        yield event.type === "done" ? { ...event, result: { ...event.result, usage: zero } } : event;
      }
    }
    const cost = (_model: string, usage: { input_tokens: number; output_tokens: number }) =>
      usage.input_tokens * 1e-6 + usage.output_tokens * 2e-6;
    const { store, engine } = await setup({
      complete: async (request) => ({ ...(await provider.complete(request)), usage: zero }),
      stream: withoutUsage,
      cost,
    });
    const conv = await store.create("t");
    const input = "tell me something about the weather in several words";
    const plain = await engine.respond("t", {
      model: "mock",
      input,
      conversation: conv.id,
      instructions: "Be brief.",
    });
    let streamed: JsonObject | undefined;
    for await (const event of engine.respondStream("t", { model: "mock", input, conversation: conv.id })) {
      if (event.type === "completed") streamed = event.response;
    }
    assert.ok(streamed);
    for (const response of [plain, streamed]) {
      const usage = response.usage as JsonObject;
      assert.equal(usage.estimated, true);
      assert.ok((usage.input_tokens as number) > 0, JSON.stringify(usage));
      assert.ok((usage.output_tokens as number) > 0, JSON.stringify(usage));
      assert.equal(usage.total_tokens, (usage.input_tokens as number) + (usage.output_tokens as number));
    }
    // The second turn sent the first turn's items too.
    assert.ok((streamed.usage as JsonObject).input_tokens! > (plain.usage as JsonObject).input_tokens!);
    const ledger = await conversationUsage(store, "t", conv.id);
    assert.equal(ledger.turns.length, 2);
    for (const [i, turn] of ledger.turns.entries()) {
      const usage = ([plain, streamed][i] as JsonObject).usage as JsonObject;
      assert.equal(turn.estimated, true);
      assert.equal(turn.input_tokens, usage.input_tokens);
      assert.equal(turn.output_tokens, usage.output_tokens);
      assert.equal(turn.cost_usd, cost("mock", turn));
      assert.ok((turn.cost_usd ?? 0) > 0);
    }
    // Reported usage is recorded as reported, with no estimate mark.
    const reported = await setup({ cost });
    const r = await reported.engine.respond("t", { model: "mock", input });
    assert.equal((r.usage as JsonObject).estimated, undefined);
    assert.ok(((r.usage as JsonObject).input_tokens as number) > 0);
  });
});
