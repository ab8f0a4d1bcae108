/** Pure translation tests: items ↔ Anthropic Messages and items ↔ Chat Completions, both directions. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AnthropicStreamTranslator,
  CONTINUATION_TEXT,
  fromAnthropicMessage,
  toAnthropicBody,
} from "./anthropic-translate.ts";
import { ChatStreamTranslator } from "./openai-chat-stream.ts";
import { fromChatCompletion, toChatBody } from "./openai-chat-translate.ts";
import { toResponsesBody } from "./openai-responses.ts";
import { parseSse } from "./sse.ts";
import { outputText, WEATHER_TOOL } from "./test-support.ts";
import type {
  FunctionCallItem,
  FunctionCallOutputItem,
  InputItem,
  SamplingExtras,
  TurnEvent,
} from "./types.ts";

const history: InputItem[] = [
  { type: "message", role: "developer", content: "Answer in French." },
  { type: "message", role: "user", content: [{ type: "input_text", text: "Weather in Paris and Rome?" }] },
  { type: "message", role: "assistant", content: [{ type: "output_text", text: "Let me check." }] },
  { type: "function_call", call_id: "c1", name: "get_weather", arguments: '{"city":"Paris"}' },
  { type: "function_call", call_id: "c2", name: "get_weather", arguments: '{"city":"Rome"}' },
  { type: "function_call_output", call_id: "c1", output: "sunny" },
  { type: "function_call_output", call_id: "c2", output: "rain" },
  { type: "message", role: "user", content: "Thanks" },
  { type: "reasoning", id: "rs_1", summary: [] },
];

test("items → Anthropic: system hoisted, tool_use/tool_result blocks, strict alternation", () => {
  const body = toAnthropicBody(
    {
      model: "claude-x",
      input: history,
      instructions: "Be brief.",
      tools: [WEATHER_TOOL],
      tool_choice: "required",
    },
    true,
  );
  assert.equal(body.system, "Be brief.\n\nAnswer in French.");
  assert.equal(body.max_tokens, 4096);
  assert.equal(body.stream, true);
  assert.deepEqual(body.tool_choice, { type: "any" });
  assert.deepEqual(body.tools, [
    { name: "get_weather", description: "Weather for a city", input_schema: WEATHER_TOOL.parameters },
  ]);
  assert.deepEqual(body.messages, [
    { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: "c1", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "c2", name: "get_weather", input: { city: "Rome" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "c1", content: "sunny" },
        { type: "tool_result", tool_use_id: "c2", content: "rain" },
        { type: "text", text: "Thanks" },
      ],
    },
  ]);
});

test("items → Anthropic: tool_choice none keeps the tools (a history with tool blocks needs them), as {type:none}", () => {
  const body = toAnthropicBody(
    {
      model: "claude-x",
      input: history,
      tools: [WEATHER_TOOL],
      tool_choice: "none",
      parallel_tool_calls: false,
    },
    false,
  );
  assert.equal((body.tools as unknown[]).length, 1);
  assert.deepEqual(body.tool_choice, { type: "none" });
  const named = toAnthropicBody(
    {
      model: "claude-x",
      input: history,
      tools: [WEATHER_TOOL],
      tool_choice: { type: "function", name: "get_weather" },
    },
    false,
  );
  assert.deepEqual(named.tool_choice, { type: "tool", name: "get_weather" });
});

test("items → Anthropic: a tool output with an image keeps it as tool_result image blocks", () => {
  const text = (value: string) => ({ type: "input_text" as const, text: value });
  const image = (url: string) => ({ type: "input_image" as const, image_url: url });
  const output = (callId: string, parts: FunctionCallOutputItem["output"]): InputItem => ({
    type: "function_call_output",
    call_id: callId,
    output: parts,
  });
  const screenshot = [
    text("Here:"),
    image("data:image/png;base64,iVBOR"),
    image("https://example.com/a.png"),
  ];
  const input: InputItem[] = [
    { type: "message", role: "user", content: "Screenshot?" },
    { type: "function_call", call_id: "c1", name: "screenshot", arguments: "{}" },
    output("c1", screenshot),
    output("c2", [text("plain "), text("parts")]),
  ];
  const body = toAnthropicBody({ model: "claude-x", input }, false);
  const messages = body.messages as Array<{ role: string; content: unknown[] }>;
  assert.deepEqual(messages[2]!.content, [
    {
      type: "tool_result",
      tool_use_id: "c1",
      content: [
        { type: "text", text: "Here:" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR" } },
        { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
      ],
    },
    { type: "tool_result", tool_use_id: "c2", content: "plain parts" },
  ]);
});

test("items → Anthropic: a history starting with the assistant gets a user turn first; empty text dropped", () => {
  const body = toAnthropicBody(
    {
      model: "claude-x",
      input: [
        { type: "message", role: "assistant", content: "Earlier answer" },
        { type: "message", role: "user", content: "" },
        { type: "message", role: "user", content: "next" },
      ],
    },
    false,
  );
  const messages = body.messages as Array<{ role: string; content: unknown[] }>;
  assert.deepEqual(
    messages.map((m) => m.role),
    ["user", "assistant", "user"],
  );
  assert.deepEqual(messages[0]!.content, [{ type: "text", text: CONTINUATION_TEXT }]);
  assert.deepEqual(messages[2]!.content, [{ type: "text", text: "next" }]);
});

test("Anthropic → items: text and tool_use blocks, cached usage counted as input", () => {
  const result = fromAnthropicMessage(
    {
      id: "msg_1",
      model: "claude-x",
      content: [
        { type: "thinking", thinking: "…" },
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      ],
      stop_reason: "tool_use",
      usage: {
        input_tokens: 10,
        output_tokens: 7,
        cache_read_input_tokens: 90,
        cache_creation_input_tokens: 0,
      },
    },
    "claude-x",
  );
  assert.equal(result.finish_reason, "tool_calls");
  assert.deepEqual(result.usage, { input_tokens: 100, output_tokens: 7, cached_tokens: 90 });
  assert.equal(outputText(result.output), "Checking.");
  const call = result.output[1] as FunctionCallItem;
  assert.equal(call.call_id, "toolu_1");
  assert.deepEqual(JSON.parse(call.arguments), { city: "Paris" });
});

test("Anthropic stream → events: input_json_delta reassembled, usage from message_start + message_delta", async () => {
  const wire = [
    {
      type: "message_start",
      message: { id: "msg_2", model: "claude-x", usage: { input_tokens: 12, output_tokens: 1 } },
    },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi " } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "there" } },
    { type: "content_block_stop", index: 0 },
    {
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "toolu_2", name: "get_weather", input: {} },
    },
    { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"ci' } },
    {
      type: "content_block_delta",
      index: 1,
      delta: { type: "input_json_delta", partial_json: 'ty":"Oslo"}' },
    },
    { type: "content_block_stop", index: 1 },
    { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } },
    { type: "message_stop" },
  ];
  const translator = new AnthropicStreamTranslator("claude-x");
  const events: TurnEvent[] = wire.flatMap((event) => translator.push(event));
  const done = events.at(-1);
  assert.equal(done?.type, "done");
  if (done?.type !== "done") return;
  assert.deepEqual(done.result.usage, { input_tokens: 12, output_tokens: 9, cached_tokens: 0 });
  assert.equal(done.result.finish_reason, "tool_calls");
  assert.equal(outputText(done.result.output), "Hi there");
  assert.equal((done.result.output[1] as FunctionCallItem).arguments, '{"city":"Oslo"}');
  assert.deepEqual(
    events.filter((e) => e.type === "item_done").map((e) => (e.type === "item_done" ? e.output_index : -1)),
    [0, 1],
  );
});

test("Anthropic pause_turn: the content so far is kept and the turn is incomplete (paused), streamed or not", () => {
  const plain = fromAnthropicMessage(
    {
      id: "msg_3",
      model: "claude-x",
      content: [{ type: "text", text: "Searching, part one." }],
      stop_reason: "pause_turn",
      usage: { input_tokens: 10, output_tokens: 4 },
    },
    "claude-x",
  );
  assert.deepEqual(
    [plain.status, plain.finish_reason, plain.incomplete_reason],
    ["incomplete", "paused", "paused"],
  );
  assert.equal(outputText(plain.output), "Searching, part one.");

  const translator = new AnthropicStreamTranslator("claude-x");
  const events = [
    { type: "message_start", message: { id: "msg_4", model: "claude-x", usage: { input_tokens: 10 } } },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Part one." } },
    { type: "content_block_stop", index: 0 },
    { type: "message_delta", delta: { stop_reason: "pause_turn" }, usage: { output_tokens: 3 } },
    { type: "message_stop" },
  ].flatMap((event) => translator.push(event));
  const done = events.at(-1);
  assert.equal(done?.type, "done");
  if (done?.type !== "done") return;
  assert.deepEqual([done.result.status, done.result.incomplete_reason], ["incomplete", "paused"]);
  assert.equal(outputText(done.result.output), "Part one.");
});

test("items → Chat Completions: calls grouped on the assistant message, outputs as tool messages", () => {
  const body = toChatBody(
    {
      model: "gpt-x",
      input: history,
      instructions: "Be brief.",
      tools: [WEATHER_TOOL],
      max_output_tokens: 50,
    },
    true,
  );
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(body.max_tokens, 50);
  assert.deepEqual(body.messages, [
    { role: "system", content: "Be brief." },
    { role: "system", content: "Answer in French." },
    { role: "user", content: "Weather in Paris and Rome?" },
    {
      role: "assistant",
      content: "Let me check.",
      tool_calls: [
        { id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { id: "c2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
      ],
    },
    { role: "tool", tool_call_id: "c1", content: "sunny" },
    { role: "tool", tool_call_id: "c2", content: "rain" },
    { role: "user", content: "Thanks" },
  ]);
});

test("sampling extras: each API gets the ones it has, under its own names", () => {
  const sampling: SamplingExtras = {
    stop: ["END"],
    seed: 1,
    presence_penalty: 0.1,
    frequency_penalty: 0.2,
    logit_bias: { "7": 5 },
    service_tier: "priority",
    prompt_cache_key: "k",
    safety_identifier: "s",
    include: ["reasoning.encrypted_content"],
  };
  const request = { model: "m", input: history, user: "u", sampling };
  const { include: _, ...chatSide } = sampling;
  const chat = toChatBody(request, false);
  assert.deepEqual(Object.fromEntries(Object.keys(chatSide).map((k) => [k, chat[k]])), chatSide);
  assert.equal("include" in chat, false);
  const responses = toResponsesBody(request, false);
  assert.deepEqual(
    ["stop", "seed", "presence_penalty", "frequency_penalty", "logit_bias"].filter((k) => k in responses),
    [],
  );
  assert.deepEqual(
    [responses.service_tier, responses.prompt_cache_key, responses.safety_identifier, responses.include],
    ["priority", "k", "s", ["reasoning.encrypted_content"]],
  );
  const anthropic = toAnthropicBody(request, false);
  assert.deepEqual(anthropic.stop_sequences, ["END"]);
  assert.deepEqual(anthropic.metadata, { user_id: "s" });
  assert.deepEqual(
    Object.keys(sampling).filter((k) => k in anthropic),
    [],
  );
  assert.deepEqual(toAnthropicBody({ model: "m", input: history, user: "u" }, false).metadata, {
    user_id: "u",
  });
});

test("Chat Completions → items, plain and streamed tool call deltas", () => {
  const result = fromChatCompletion(
    {
      id: "cc_1",
      model: "gpt-x",
      choices: [
        {
          message: {
            content: null,
            tool_calls: [{ id: "c9", type: "function", function: { name: "f", arguments: "{}" } }],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 3 } },
    },
    "gpt-x",
  );
  assert.equal(result.output.length, 1);
  assert.deepEqual(result.usage, { input_tokens: 5, output_tokens: 2, cached_tokens: 3 });

  const translator = new ChatStreamTranslator("gpt-x");
  const chunks = [
    { choices: [{ delta: { role: "assistant", content: "" } }] },
    {
      choices: [
        { delta: { tool_calls: [{ index: 0, id: "a", function: { name: "get_", arguments: "" } }] } },
      ],
    },
    {
      choices: [
        { delta: { tool_calls: [{ index: 0, function: { name: "weather", arguments: '{"city":' } }] } },
      ],
    },
    {
      choices: [{ delta: { tool_calls: [{ index: 1, id: "b", function: { name: "g", arguments: "{}" } }] } }],
    },
    { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '"Nice"}' } }] } }] },
    { choices: [{ delta: {}, finish_reason: "tool_calls" }] },
    { choices: [], usage: { prompt_tokens: 8, completion_tokens: 4 } },
  ];
  const events = [...chunks.flatMap((chunk) => translator.push(chunk)), ...translator.end()];
  const done = events.at(-1);
  assert.equal(done?.type, "done");
  if (done?.type !== "done") return;
  const [first, second] = done.result.output as FunctionCallItem[];
  assert.deepEqual([first?.name, first?.arguments, first?.call_id], ["get_weather", '{"city":"Nice"}', "a"]);
  assert.deepEqual([second?.name, second?.arguments], ["g", "{}"]);
  assert.deepEqual(done.result.usage, { input_tokens: 8, output_tokens: 4, cached_tokens: 0 });
});

test("the SSE parser handles CRLF, split chunks, comments and multi-line data", async () => {
  async function* chunks(): AsyncGenerator<string> {
    yield ": keep-alive\r\nevent: a\r\nda";
    yield "ta: one\r\ndata: two\r\n\r\n";
    yield 'data: {"x":1}\n\ndata: last';
  }
  const events = [];
  for await (const event of parseSse(chunks())) events.push(event);
  assert.deepEqual(events, [
    { event: "a", data: "one\ntwo" },
    { event: undefined, data: '{"x":1}' },
    { event: undefined, data: "last" },
  ]);
});

test("the SSE parser reads fields without a value, empty data lines and a CR split from its LF", async () => {
  async function* chunks(): AsyncGenerator<string> {
    yield "event:named\ndata\ndata:\ndata:  two spaces\r";
    yield "\n\nretry: 10\nid: 7\ndata: a:b\n\nevent\ndata: x\n\n:only a comment\n\n";
  }
  const events = [];
  for await (const event of parseSse(chunks())) events.push(event);
  assert.deepEqual(events, [
    { event: "named", data: "\n\n two spaces" },
    { event: undefined, data: "a:b" },
    { event: "", data: "x" },
  ]);
});

test("Anthropic stream: the items' done events carry the status of the final output (incomplete on max_tokens)", () => {
  for (const [stopReason, status] of [
    ["max_tokens", "incomplete"],
    ["pause_turn", "incomplete"],
    ["model_context_window_exceeded", "incomplete"],
    ["end_turn", "completed"],
  ] as const) {
    const translator = new AnthropicStreamTranslator("claude-x");
    const events = [
      { type: "message_start", message: { id: "msg_5", model: "claude-x", usage: { input_tokens: 10 } } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Let me look." } },
      { type: "content_block_stop", index: 0 },
      {
        type: "content_block_start",
        index: 1,
        content_block: { type: "tool_use", id: "toolu_5", name: "get_weather", input: {} },
      },
      {
        type: "content_block_delta",
        index: 1,
        delta: { type: "input_json_delta", partial_json: '{"city":' },
      },
      { type: "content_block_stop", index: 1 },
      { type: "message_delta", delta: { stop_reason: stopReason }, usage: { output_tokens: 3 } },
      { type: "message_stop" },
    ].flatMap((event) => translator.push(event));
    const done = events.at(-1);
    assert.equal(done?.type, "done");
    if (done?.type !== "done") return;
    assert.equal(done.result.status, status, stopReason);
    const finished = events.flatMap((e) => (e.type === "item_done" ? [e.item] : []));
    assert.deepEqual(finished, done.result.output, `${stopReason}: item_done items equal the final output`);
    assert.deepEqual(
      finished.map((item) => (item as { status?: string }).status),
      [status, status],
      stopReason,
    );
  }
});
