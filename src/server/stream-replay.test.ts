/**
 * A streamed turn retried with the same `Idempotency-Key` replays the stored response as a stream
 * with its content: the text deltas and tool call pieces the first stream had, read through the
 * official `openai` SDK's stream helpers (a chat client has nothing but the deltas).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

const tools = [
  {
    type: "function" as const,
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
    strict: false,
  },
];

describe("a streamed turn replayed by Idempotency-Key", () => {
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    const store = await createStore("memory:");
    ({ client, close } = await openSdkGateway(store));
  });
  after(async () => {
    await close();
  });

  test("Responses: the replay streams the same text, arguments and final response", async () => {
    const conv = await client.conversations.create({});
    for (const [key, input] of [
      ["replay-text", "hello there"],
      ["replay-call", 'call get_weather {"city":"Oslo"}'],
    ] as const) {
      const runs: { text: string; args: string; added: string[]; id: string; output: unknown }[] = [];
      for (let i = 0; i < 2; i++) {
        const stream = client.responses.stream(
          { model: "mock", input, tools, conversation: conv.id },
          { headers: { "Idempotency-Key": key } },
        );
        const run = { text: "", args: "", added: [] as string[], id: "", output: null as unknown };
        for await (const event of stream) {
          if (event.type === "response.output_text.delta") run.text += event.delta;
          if (event.type === "response.function_call_arguments.delta") run.args += event.delta;
          if (event.type === "response.output_item.added") run.added.push(String(event.item.id));
        }
        const final = await stream.finalResponse();
        run.id = final.id;
        run.output = final.output;
        runs.push(run);
      }
      const [first, replay] = runs;
      assert.equal(replay?.id, first?.id, `${key}: the retry is the same response`);
      assert.ok((first?.text ?? "") + (first?.args ?? "") !== "", `${key}: the first stream had content`);
      assert.deepEqual(
        [replay?.text, replay?.args, replay?.added, replay?.output],
        [first?.text, first?.args, first?.added, first?.output],
        key,
      );
    }
  });

  test("Chat Completions: the replay streams the same answer", async () => {
    const conv = await client.conversations.create({});
    const answers: string[] = [];
    for (let i = 0; i < 2; i++) {
      const stream = await client.chat.completions.create(
        { model: "mock", stream: true, messages: [{ role: "user", content: "hello there friend" }] },
        { headers: { "Holdfast-Conversation": conv.id, "Idempotency-Key": "replay-chat" } },
      );
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      answers.push(text);
    }
    assert.match(answers[0] ?? "", /hello there friend/);
    assert.equal(answers[1], answers[0]);
    const items = await client.conversations.items.list(conv.id);
    assert.equal(items.data.length, 2, "the retry wrote nothing");
  });
});
