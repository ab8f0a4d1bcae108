/**
 * Tool calls in Chat Completions streams from OpenAI-compatible servers that differ from OpenAI:
 * a call's name repeated whole in every delta chunk (vLLM, Ollama versions), and deltas without
 * `index` (Gemini's endpoint, Ollama versions).
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createHttpClient, DEFAULT_TIMEOUTS } from "./http.ts";
import { createOpenAIChatProvider } from "./openai-chat.ts";
import { ChatStreamTranslator, joinCallName } from "./openai-chat-stream.ts";
import { collect, WEATHER_TOOL } from "./test-support.ts";
import type { FunctionCallItem } from "./types.ts";

/** A call streamed the vLLM way: id, type and the full name in every chunk. */
const REPEATING_CHUNKS = [
  { id: "c", choices: [{ delta: { role: "assistant", content: null } }] },
  ...['{"city":', '"Paris"', "}"].map((args) => ({
    id: "c",
    choices: [
      {
        delta: {
          tool_calls: [
            { index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: args } },
          ],
        },
      },
    ],
  })),
  { id: "c", choices: [{ delta: {}, finish_reason: "tool_calls" }] },
  { id: "c", choices: [], usage: { prompt_tokens: 9, completion_tokens: 5 } },
];

test("a name repeated whole in every delta is the name once, not concatenated", () => {
  const translator = new ChatStreamTranslator("m");
  const events = [...REPEATING_CHUNKS.flatMap((chunk) => translator.push(chunk)), ...translator.end()];
  const done = events.at(-1);
  assert.equal(done?.type, "done");
  if (done?.type !== "done") return;
  const [call] = done.result.output as FunctionCallItem[];
  assert.equal(call?.name, "get_weather");
  assert.equal(call?.arguments, '{"city":"Paris"}');
});

test("joinCallName: pieces join, repeats do not, a declared name decides a piece that could be either", () => {
  assert.equal(joinCallName("get_", "weather", []), "get_weather");
  assert.equal(joinCallName("get_weather", "get_weather", []), "get_weather");
  assert.equal(joinCallName("get_weather", "weather", []), "get_weather");
  // "ab" + "b" could repeat the tail or continue the name: the declared tool "abb" says continue.
  assert.equal(joinCallName("ab", "b", ["abb"]), "abb");
  assert.equal(joinCallName("ab", "b", ["ab"]), "ab");
});

test("through the adapter over HTTP: a repeating server's call keeps its name", async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const chunk of REPEATING_CHUNKS) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const http = createHttpClient({
    provider: "vllm",
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    headers: {},
    timeouts: DEFAULT_TIMEOUTS,
  });
  try {
    const provider = createOpenAIChatProvider({ name: "vllm", http });
    const run = await collect(
      provider.stream({
        model: "m",
        input: [{ type: "message", role: "user", content: "Weather in Paris?" }],
        tools: [WEATHER_TOOL],
      }),
    );
    assert.equal(run.error, undefined);
    const [call] = (run.result?.output ?? []) as FunctionCallItem[];
    assert.deepEqual(
      [call?.name, call?.call_id, call?.arguments],
      ["get_weather", "call_1", '{"city":"Paris"}'],
    );
  } finally {
    await http.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Final output of a translated stream. */
function outputOf(chunks: object[]): FunctionCallItem[] {
  const translator = new ChatStreamTranslator("m");
  const events = [...chunks.flatMap((chunk) => translator.push(chunk)), ...translator.end()];
  const done = events.at(-1);
  assert.equal(done?.type, "done");
  return done?.type === "done" ? (done.result.output as FunctionCallItem[]) : [];
}

const calls = (...deltas: object[]) => ({ choices: [{ delta: { tool_calls: deltas } }] });

test("parallel calls without index stay apart: a new id opens a call, a delta with no id continues the last", () => {
  // Ollama: each call whole, in one chunk or one per chunk, no index.
  const whole = outputOf([
    calls(
      { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "call_b", type: "function", function: { name: "get_time", arguments: '{"tz":"CET"}' } },
    ),
    calls({
      id: "call_c",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Rome"}' },
    }),
    { choices: [{ delta: {}, finish_reason: "tool_calls" }] },
  ]);
  assert.deepEqual(
    whole.map((c) => [c.call_id, c.name, c.arguments]),
    [
      ["call_a", "get_weather", '{"city":"Paris"}'],
      ["call_b", "get_time", '{"tz":"CET"}'],
      ["call_c", "get_weather", '{"city":"Rome"}'],
    ],
  );
  // Gemini-style: the id on the first delta only, argument pieces after it without index or id.
  const pieces = outputOf([
    calls({ id: "call_a", function: { name: "get_weather", arguments: '{"city":' } }),
    calls({ function: { arguments: '"Oslo"}' } }),
    calls({ id: "call_b", function: { name: "get_time", arguments: "{}" } }),
  ]);
  assert.deepEqual(
    pieces.map((c) => [c.call_id, c.name, c.arguments]),
    [
      ["call_a", "get_weather", '{"city":"Oslo"}'],
      ["call_b", "get_time", "{}"],
    ],
  );
});

test("a call named after it was opened is announced with its name, before its deltas and in order", () => {
  const translator = new ChatStreamTranslator("m", ["get_weather", "get_time"]);
  const events = [
    // The id first, the name in pieces after it, then the arguments.
    calls({ index: 0, id: "call_a", type: "function", function: { arguments: "" } }),
    calls({ index: 0, function: { name: "get_" } }),
    calls({ index: 0, function: { name: "weather" } }),
    calls({ index: 0, function: { arguments: '{"city":"Oslo"}' } }),
    // A second call named late whose arguments never come before the next call opens.
    calls({ index: 1, id: "call_b", function: {} }),
    calls({ index: 1, function: { name: "get_time" } }),
    // A third call named late with no arguments at all before the end.
    calls({ index: 2, id: "call_c", function: {} }),
    calls({ index: 2, function: { name: "get_weather" } }),
    { choices: [{ delta: {}, finish_reason: "tool_calls" }] },
  ].flatMap((chunk) => translator.push(chunk));
  events.push(...translator.end());
  const added = events.filter((e) => e.type === "item_added");
  assert.deepEqual(
    added.map((e) => (e.type === "item_added" ? [e.output_index, (e.item as FunctionCallItem).name] : [])),
    [
      [0, "get_weather"],
      [1, "get_time"],
      [2, "get_weather"],
    ],
  );
  // Each call's added event comes before its deltas and its done event.
  for (const index of [0, 1, 2]) {
    const positions = events.flatMap((e, at) =>
      "output_index" in e && e.output_index === index ? [[e.type, at] as const] : [],
    );
    assert.equal(positions[0]?.[0], "item_added", `call ${index} opens with item_added`);
    assert.equal(positions.filter(([type]) => type === "item_added").length, 1);
  }
});

test("text before a tool call is done with the status of the final output (incomplete when cut by length)", () => {
  for (const [reason, status] of [
    ["length", "incomplete"],
    ["tool_calls", "completed"],
  ] as const) {
    const translator = new ChatStreamTranslator("m");
    const events = [
      { choices: [{ delta: { content: "Checking the weather." } }] },
      calls({ index: 0, id: "call_a", function: { name: "get_weather", arguments: '{"city":' } }),
      { choices: [{ delta: {}, finish_reason: reason }] },
    ].flatMap((chunk) => translator.push(chunk));
    events.push(...translator.end());
    const done = events.at(-1);
    assert.equal(done?.type, "done");
    if (done?.type !== "done") return;
    const finished = events.flatMap((e) => (e.type === "item_done" ? [e.item] : []));
    assert.deepEqual(finished, done.result.output, reason);
    assert.deepEqual(
      finished.map((item) => (item as { status?: string }).status),
      [status, status],
      reason,
    );
  }
});
