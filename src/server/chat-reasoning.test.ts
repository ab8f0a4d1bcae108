/**
 * A model's reasoning from an OpenAI-compatible Chat Completions server (vLLM, DeepSeek, SGLang,
 * Ollama, OpenRouter, Groq, LM Studio: `message.reasoning_content` or `message.reasoning`, streamed
 * as `delta.reasoning_content` / `delta.reasoning`) was dropped. On `/v1/responses` it is now a
 * `reasoning` item before the message (`content: [{type: "reasoning_text", text}]`), stored, streamed
 * with `response.reasoning_text.delta` / `.done`, and its tokens are in
 * `usage.output_tokens_details.reasoning_tokens`; on `/v1/chat/completions` it is the message's
 * `reasoning_content` (`delta.reasoning_content`). It never goes back to a Chat upstream.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { type FakeChatAnswer, type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";
import { startFakeResponsesUpstream } from "./fake-responses-upstream.ts";
import { openSdkGateway, openSdkGatewayOverResponses } from "./sdk-test-gateway.ts";

const THOUGHT = "The user greets me; I should greet back.";
const ANSWER = "Hello there!";

type Event = { type: string; sequence_number: number; [key: string]: unknown };
type Body = Record<string, unknown>;

describe("reasoning from a Chat Completions upstream", () => {
  let upstream: FakeChatUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;
  /** The field the upstream puts its reasoning in. */
  let field: "reasoning_content" | "reasoning" = "reasoning_content";

  before(async () => {
    upstream = await startFakeChatUpstream(
      (): FakeChatAnswer => ({ content: ANSWER, [field]: THOUGHT, reasoning_tokens: 2 }),
    );
    ({ client, close } = await openSdkGateway(await createStore("memory:"), {
      providers: [{ name: "chat", type: "openai-chat", baseUrl: upstream.baseUrl }],
    }));
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  function checkOutput(output: OpenAI.Responses.ResponseOutputItem[]): void {
    assert.deepEqual(
      output.map((item) => item.type),
      ["reasoning", "message"],
    );
    const [reasoning] = output;
    assert.equal(reasoning?.type, "reasoning");
    if (reasoning?.type !== "reasoning") return;
    assert.match(reasoning.id, /^rs_[0-9a-f]{32}$/);
    assert.deepEqual(reasoning.summary, []);
    assert.deepEqual(reasoning.content, [{ type: "reasoning_text", text: THOUGHT }]);
    assert.equal("holdfast" in reasoning, false);
  }

  for (const name of ["reasoning_content", "reasoning"] as const)
    test(`Responses, not streamed (${name}): a reasoning item before the message, stored and counted`, async () => {
      field = name;
      const conv = await client.conversations.create({});
      const response = await client.responses.create({ model: "chat/m", input: "hi", conversation: conv.id });
      checkOutput(response.output);
      assert.equal(response.output_text, ANSWER);
      assert.equal(response.usage?.output_tokens_details.reasoning_tokens, 2);
      checkOutput((await client.responses.retrieve(response.id)).output);
      const items = (await client.conversations.items.list(conv.id, { order: "asc" })).data;
      assert.deepEqual(
        items.map((item) => item.type),
        ["message", "reasoning", "message"],
      );
      assert.equal(items[1]?.id, response.output[0]?.id);
    });

  test("Responses, streamed: typed reasoning events in order, then the message", async () => {
    field = "reasoning_content";
    const stream = client.responses.stream({ model: "chat/m", input: "hi" });
    const events: Event[] = [];
    for await (const event of stream) events.push(event as unknown as Event);
    const final = await stream.finalResponse();
    checkOutput(final.output);
    assert.equal(final.usage?.output_tokens_details.reasoning_tokens, 2);
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, i) => i),
    );
    const reasoningId = final.output[0]?.id;
    const messageId = final.output[1]?.id;
    const shape = events
      .filter((event) => !["response.created", "response.in_progress"].includes(event.type))
      .filter((event) => !event.type.endsWith(".delta"))
      .map((event) => [event.type, event.output_index ?? null]);
    assert.deepEqual(shape, [
      ["response.output_item.added", 0],
      ["response.content_part.added", 0],
      ["response.reasoning_text.done", 0],
      ["response.content_part.done", 0],
      ["response.output_item.done", 0],
      ["response.output_item.added", 1],
      ["response.content_part.added", 1],
      ["response.output_text.done", 1],
      ["response.content_part.done", 1],
      ["response.output_item.done", 1],
      ["response.completed", null],
    ]);
    const deltas = events.filter((event) => event.type === "response.reasoning_text.delta");
    assert.ok(deltas.length >= 2, "streamed in pieces");
    assert.equal(deltas.map((event) => event.delta).join(""), THOUGHT);
    for (const event of deltas) {
      assert.deepEqual([event.item_id, event.output_index, event.content_index], [reasoningId, 0, 0]);
    }
    const byType = (type: string) => events.find((event) => event.type === type);
    assert.deepEqual(
      { ...byType("response.reasoning_text.done"), sequence_number: 0 },
      {
        type: "response.reasoning_text.done",
        sequence_number: 0,
        item_id: reasoningId,
        output_index: 0,
        content_index: 0,
        text: THOUGHT,
      },
    );
    const added = events.filter((event) => event.type === "response.content_part.added");
    assert.deepEqual(added[0]?.part, { type: "reasoning_text", text: "" });
    const partsDone = events.filter((event) => event.type === "response.content_part.done");
    assert.deepEqual(partsDone[0]?.part, { type: "reasoning_text", text: THOUGHT });
    const textDeltas = events.filter((event) => event.type === "response.output_text.delta");
    for (const event of textDeltas) assert.deepEqual([event.item_id, event.output_index], [messageId, 1]);
    checkOutput((await client.responses.retrieve(final.id)).output);
  });

  test("a streamed retry (same Idempotency-Key) replays the reasoning events", async () => {
    const run = async () => {
      const stream = client.responses.stream(
        { model: "chat/m", input: "hi" },
        { headers: { "Idempotency-Key": "reasoning-retry" } },
      );
      const events: Event[] = [];
      for await (const event of stream) events.push(event as unknown as Event);
      return { events, final: await stream.finalResponse() };
    };
    const first = await run();
    const calls = upstream.seen.length;
    const again = await run();
    assert.equal(upstream.seen.length, calls, "answered from the store");
    assert.equal(again.final.id, first.final.id);
    checkOutput(again.final.output);
    const delta = again.events.filter((event) => event.type === "response.reasoning_text.delta");
    assert.equal(delta.map((event) => event.delta).join(""), THOUGHT);
  });

  test("stored reasoning is not sent back to the Chat upstream", async () => {
    const conv = await client.conversations.create({});
    await client.responses.create({ model: "chat/m", input: "hi", conversation: conv.id });
    const stream = client.responses.stream({ model: "chat/m", input: "again", conversation: conv.id });
    await stream.finalResponse();
    await client.responses.create({ model: "chat/m", input: "more", conversation: conv.id });
    assert.deepEqual(upstream.seen.at(-1)?.messages, [
      { role: "user", content: "hi" },
      { role: "assistant", content: ANSWER },
      { role: "user", content: "again" },
      { role: "assistant", content: ANSWER },
      { role: "user", content: "more" },
    ]);
  });

  for (const conversation of [false, true])
    test(`Chat Completions ${conversation ? "on a conversation" : "stateless"}: reasoning_content, streamed and not`, async () => {
      field = "reasoning";
      const conv = await client.conversations.create({});
      const options = conversation ? { headers: { "Holdfast-Conversation": conv.id } } : {};
      const messages = [{ role: "user" as const, content: "hi" }];
      const plain = await client.chat.completions.create({ model: "chat/m", messages }, options);
      const message = plain.choices[0]?.message as unknown as Body;
      assert.equal(message.reasoning_content, THOUGHT);
      assert.equal(message.content, ANSWER);
      assert.deepEqual(plain.usage?.completion_tokens_details, { reasoning_tokens: 2 });

      const stream = await client.chat.completions.create(
        { model: "chat/m", messages, stream: true, stream_options: { include_usage: true } },
        options,
      );
      let reasoning = "";
      let content = "";
      let firstContentAfterReasoning = true;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        const delta = (chunk.choices[0]?.delta ?? {}) as Body;
        if (typeof delta.reasoning_content === "string") {
          if (content !== "") firstContentAfterReasoning = false;
          reasoning += delta.reasoning_content;
        }
        content += (delta.content as string | undefined) ?? "";
        usage = chunk.usage ?? usage;
      }
      assert.equal(reasoning, THOUGHT);
      assert.equal(content, ANSWER);
      assert.ok(firstContentAfterReasoning, "the reasoning comes before the answer");
      assert.equal(usage?.completion_tokens_details?.reasoning_tokens, 2);

      const items = (await client.conversations.items.list(conv.id, { order: "asc" })).data;
      assert.deepEqual(
        items.map((item) => item.type),
        conversation ? ["message", "reasoning", "message", "message", "reasoning", "message"] : [],
      );
      for (const item of items.filter((item) => item.type === "reasoning"))
        assert.deepEqual(item.type === "reasoning" ? item.content : null, [
          { type: "reasoning_text", text: THOUGHT },
        ]);
    });
});

// The Response object said `reasoning_tokens: 0` whatever the upstream reported.
test("a Responses upstream's reasoning tokens are reported, streamed or not, and on chat", async () => {
  const upstream = await startFakeResponsesUpstream(
    () => [
      {
        type: "message",
        id: "msg_up",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: ANSWER, annotations: [] }],
      },
    ],
    () => ({
      usage: {
        input_tokens: 5,
        output_tokens: 9,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 7 },
      },
    }),
  );
  const { client, close } = await openSdkGatewayOverResponses(upstream);
  try {
    const plain = await client.responses.create({ model: "resp/m", input: "hi" });
    assert.equal(plain.usage?.output_tokens_details.reasoning_tokens, 7);
    assert.equal(
      (await client.responses.retrieve(plain.id)).usage?.output_tokens_details.reasoning_tokens,
      7,
    );
    const stream = client.responses.stream({ model: "resp/m", input: "hi" });
    assert.equal((await stream.finalResponse()).usage?.output_tokens_details.reasoning_tokens, 7);
    const chat = await client.chat.completions.create({
      model: "resp/m",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.deepEqual(chat.usage?.completion_tokens_details, { reasoning_tokens: 7 });
  } finally {
    await close();
  }
});
