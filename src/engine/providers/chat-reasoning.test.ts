/**
 * Chat Completions reasoning (`reasoning_content` / `reasoning`) as the adapters see it: the
 * stream translator ends the reasoning item before the answer's items start, usage keeps the
 * reasoning tokens, a stream cut mid-reasoning keeps what came, and a stored reasoning item with
 * `reasoning_text` content is left out of every upstream's request (Chat servers such as
 * DeepSeek refuse it in a message; Anthropic and Responses cannot take it without a signature or
 * encrypted content).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { toAnthropicBody } from "./anthropic-translate.ts";
import { ChatStreamTranslator } from "./openai-chat-stream.ts";
import { fromChatCompletion, toChatBody } from "./openai-chat-translate.ts";
import { toResponsesBody } from "./openai-responses.ts";
import { StreamTracker } from "./output.ts";
import type { InputItem, TurnEvent } from "./types.ts";

const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
  choices: [{ index: 0, delta: d, finish_reason: finish }],
});

test("streamed reasoning then a tool call: the reasoning item is done before the call is added", () => {
  const translator = new ChatStreamTranslator("m", ["lookup"]);
  const events: TurnEvent[] = [
    ...translator.push(delta({ role: "assistant", content: "" })),
    ...translator.push(delta({ reasoning_content: "I need ", content: null })),
    ...translator.push(delta({ reasoning_content: "to look it up." })),
    ...translator.push(
      delta({ tool_calls: [{ index: 0, id: "call_1", function: { name: "lookup", arguments: '{"q":1}' } }] }),
    ),
    ...translator.push(delta({}, "tool_calls")),
    ...translator.push({
      choices: [],
      usage: { prompt_tokens: 4, completion_tokens: 9, completion_tokens_details: { reasoning_tokens: 6 } },
    }),
    ...translator.end(),
  ];
  const shape = events.map((event) =>
    event.type === "item_added" || event.type === "item_done"
      ? `${event.type}:${event.item.type}@${event.output_index}`
      : `${event.type}${"output_index" in event ? `@${event.output_index}` : ""}`,
  );
  assert.deepEqual(shape, [
    "item_added:reasoning@0",
    "reasoning_delta@0",
    "reasoning_delta@0",
    "item_done:reasoning@0",
    "item_added:function_call@1",
    "function_call_arguments_delta@1",
    "item_done:function_call@1",
    "usage",
    "done",
  ]);
  const done = events.at(-1);
  assert.equal(done?.type, "done");
  if (done?.type !== "done") return;
  assert.deepEqual(done.result.output[0], {
    type: "reasoning",
    id: done.result.output[0]?.id,
    summary: [],
    content: [{ type: "reasoning_text", text: "I need to look it up." }],
    status: "completed",
  });
  assert.equal(done.result.usage.reasoning_tokens, 6);
  assert.equal(done.result.finish_reason, "tool_calls");
});

test("a non-streamed answer: reasoning first; an empty reasoning field makes no item", () => {
  const message = (extra: Record<string, unknown>) =>
    fromChatCompletion(
      { choices: [{ message: { role: "assistant", content: "42", ...extra }, finish_reason: "stop" }] },
      "m",
    ).output.map((item) => item.type);
  assert.deepEqual(message({ reasoning_content: "think" }), ["reasoning", "message"]);
  assert.deepEqual(message({ reasoning: "think" }), ["reasoning", "message"]);
  assert.deepEqual(message({ reasoning_content: "", reasoning: null }), ["message"]);
  // Both fields mean the same text: one item, not the text twice.
  const both = fromChatCompletion(
    { choices: [{ message: { content: "42", reasoning_content: "think", reasoning: "think" } }] },
    "m",
  );
  assert.deepEqual((both.output[0] as { content?: unknown }).content, [
    { type: "reasoning_text", text: "think" },
  ]);
});

test("a stream cut mid-reasoning keeps the reasoning so far, incomplete", () => {
  const translator = new ChatStreamTranslator("m");
  const tracker = new StreamTracker();
  for (const event of [
    ...translator.push(delta({ reasoning_content: "half a " })),
    ...translator.push(delta({ reasoning_content: "thought" })),
  ])
    tracker.push(event);
  const [item] = tracker.partial("m").output as { type: string; status?: string; content?: unknown }[];
  assert.deepEqual(
    [item?.type, item?.status, item?.content],
    ["reasoning", "incomplete", [{ type: "reasoning_text", text: "half a thought" }]],
  );
});

test("a stored reasoning_text item goes to no upstream", () => {
  const input: InputItem[] = [
    { type: "message", role: "user", content: "hi" },
    {
      type: "reasoning",
      id: "rs_01a2",
      summary: [],
      content: [{ type: "reasoning_text", text: "greet back" }],
      status: "completed",
    },
    { type: "message", role: "assistant", content: [{ type: "output_text", text: "hello" }] },
    { type: "message", role: "user", content: "again" },
  ];
  const request = { model: "m", input };
  assert.deepEqual(toChatBody(request, false).messages, [
    { role: "user", content: "hi" },
    { role: "assistant", content: "hello" },
    { role: "user", content: "again" },
  ]);
  assert.deepEqual(
    (toAnthropicBody(request, false).messages as { role: string }[]).map((message) => message.role),
    ["user", "assistant", "user"],
  );
  assert.deepEqual(
    (toResponsesBody(request, false).input as InputItem[]).map((item) => item.type),
    ["message", "message", "message"],
  );
});
