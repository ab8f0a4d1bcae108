/**
 * Tool calls through an Anthropic upstream, with the official `openai` SDK as the client. A tool
 * without parameters is streamed by Anthropic with no input JSON (one empty `partial_json`): the
 * streamed call used to end with arguments "" (not JSON: clients failed to parse it, and the
 * Agents SDK could not run the tool) while the same answer non-streamed said "{}".
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type OpenAI from "openai";
import {
  anthropicGatewayPerSuite,
  type FakeAnthropicAnswer,
  type FakeAnthropicBlock,
} from "./fake-anthropic-upstream.ts";

const MODEL = "claude/claude-sonnet-4-5";
const tools = [
  { type: "function" as const, name: "now", parameters: { type: "object", properties: {} }, strict: false },
  {
    type: "function" as const,
    name: "weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
    strict: false,
  },
];
/** Thinking, text, then two parallel calls, the first without input. */
const calls: FakeAnthropicBlock[] = [
  { type: "thinking", thinking: "Two tools.", signature: "sig" },
  { type: "text", text: "Let me check." },
  { type: "tool_use", id: "toolu_now", name: "now", input: {} },
  { type: "tool_use", id: "toolu_weather", name: "weather", input: { city: "Paris" } },
];

describe("tool calls through an Anthropic upstream", () => {
  const answers: FakeAnthropicAnswer[] = [];
  const claude = anthropicGatewayPerSuite(() => answers.shift() ?? { content: [] });

  for (const stream of [false, true]) {
    test(`${stream ? "streamed" : "not streamed"}: parallel calls after text, a call without input has arguments "{}", outputs go back as tool_result`, async () => {
      const conv = await claude.client.conversations.create({});
      answers.push({ content: calls });
      const request = {
        model: MODEL,
        input: "What time is it, and the weather in Paris?",
        tools,
        conversation: conv.id,
      };
      let response: OpenAI.Responses.Response;
      const deltas = new Map<string, string>();
      if (stream) {
        const events = claude.client.responses.stream(request);
        events.on("response.function_call_arguments.delta", (event) => {
          deltas.set(event.item_id, (deltas.get(event.item_id) ?? "") + event.delta);
        });
        response = await events.finalResponse();
      } else {
        response = await claude.client.responses.create(request);
      }
      assert.equal(response.status, "completed");
      assert.equal(response.output_text, "Let me check.");
      const fc = response.output.filter((item) => item.type === "function_call");
      assert.deepEqual(
        fc.map((item) => [item.call_id, item.name, item.arguments]),
        [
          ["toolu_now", "now", "{}"],
          ["toolu_weather", "weather", '{"city":"Paris"}'],
        ],
      );
      for (const item of fc) assert.doesNotThrow(() => JSON.parse(item.arguments));
      if (stream) {
        assert.deepEqual(
          fc.map((item) => deltas.get(String(item.id))),
          ["{}", '{"city":"Paris"}'],
          "the deltas add up to the arguments",
        );
      }
      const stored = (await claude.client.conversations.items.list(conv.id, { order: "asc" })).data;
      const storedCalls = stored.filter((item) => item.type === "function_call");
      assert.deepEqual(
        storedCalls.map((item) => item.arguments),
        ["{}", '{"city":"Paris"}'],
      );

      answers.push({ content: [{ type: "text", text: "Noon, and sunny." }] });
      const next = await claude.client.responses.create({
        model: MODEL,
        tools,
        conversation: conv.id,
        input: [
          { type: "function_call_output", call_id: "toolu_now", output: "12:00" },
          {
            type: "function_call_output",
            call_id: "toolu_weather",
            output: [{ type: "input_text", text: "sunny" }],
          },
        ],
      });
      assert.equal(next.output_text, "Noon, and sunny.");
      assert.deepEqual(claude.upstream.seen.at(-1)?.messages, [
        { role: "user", content: [{ type: "text", text: "What time is it, and the weather in Paris?" }] },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Let me check." },
            { type: "tool_use", id: "toolu_now", name: "now", input: {} },
            { type: "tool_use", id: "toolu_weather", name: "weather", input: { city: "Paris" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_now", content: "12:00" },
            { type: "tool_result", tool_use_id: "toolu_weather", content: "sunny" },
          ],
        },
      ]);
    });
  }

  test('Chat Completions streamed: the deltas of a call without input add up to "{}"', async () => {
    answers.push({ content: [{ type: "tool_use", id: "toolu_now", name: "now", input: {} }] });
    const chunks = await claude.client.chat.completions.create({
      model: MODEL,
      stream: true,
      messages: [{ role: "user", content: "What time is it?" }],
      tools: [
        { type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } },
      ],
    });
    let args = "";
    let finish: string | null = null;
    for await (const chunk of chunks) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) args += call.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(args, "{}");
    assert.equal(finish, "tool_calls");
  });
});
