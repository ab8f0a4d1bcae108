/** Chat chunks put back together the way chat clients do (name and arguments pieces joined per index). */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { EngineEvent } from "../engine/turn/turn-engine.ts";
import { HoldfastError } from "../store/errors.ts";
import type { JsonObject } from "../store/types.ts";
import { ChatSse } from "./chat-sse.ts";

const response = (status: string, output: JsonObject[] = []): JsonObject => ({
  id: "resp_0123456789abcdef0123456789abcdef",
  created_at: 1,
  status,
  model: "m",
  output,
  usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
});

/** Joins the streamed tool call pieces as the openai SDK's stream helpers do. */
function joinedCalls(chunks: string[]): { id?: string; name: string; arguments: string }[] {
  const calls: { id?: string; name: string; arguments: string }[] = [];
  for (const chunk of chunks) {
    const data = JSON.parse(chunk.replace(/^data: /, "")) as JsonObject;
    const delta = ((data.choices as JsonObject[])[0]?.delta ?? {}) as JsonObject;
    for (const call of (delta.tool_calls as JsonObject[] | undefined) ?? []) {
      calls[call.index as number] ??= { name: "", arguments: "" };
      const slot = calls[call.index as number]!;
      if (typeof call.id === "string") slot.id = call.id;
      const fn = (call.function ?? {}) as JsonObject;
      slot.name += (fn.name as string | undefined) ?? "";
      slot.arguments += (fn.arguments as string | undefined) ?? "";
    }
  }
  return calls;
}

test("a call whose name the upstream sent after opening it reaches chat clients with its name", () => {
  const opened = { type: "function_call", id: "fc_1", call_id: "call_1", name: "", arguments: "" };
  const done = { ...opened, name: "get_weather", arguments: '{"city":"Oslo"}', status: "completed" };
  const provider = (event: unknown): EngineEvent => ({ type: "provider", event }) as EngineEvent;
  const events: EngineEvent[] = [
    { type: "created", response: response("in_progress") },
    provider({ type: "item_added", output_index: 0, item: opened }),
    provider({
      type: "function_call_arguments_delta",
      output_index: 0,
      item_id: "fc_1",
      call_id: "call_1",
      delta: '{"city":"Oslo"}',
    }),
    provider({ type: "item_done", output_index: 0, item: done }),
    { type: "completed", response: response("completed", [done]) },
  ];
  const chunks: string[] = [];
  const sse = new ChatSse((chunk) => chunks.push(chunk), false);
  for (const event of events) sse.handle(event);
  assert.deepEqual(joinedCalls(chunks), [
    { id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
  ]);
});

test("a failed turn claims no normal stop: its usage, then the error chunk, and no finish_reason", () => {
  const events: EngineEvent[] = [
    { type: "created", response: response("in_progress") },
    { type: "provider", event: { type: "text_delta", output_index: 0, item_id: "msg_1", delta: "Hel" } },
    {
      type: "failed",
      response: response("failed"),
      error: new HoldfastError("upstream_error", "The upstream closed the stream."),
    },
  ];
  const chunks: string[] = [];
  const sse = new ChatSse((chunk) => chunks.push(chunk), true);
  for (const event of events) sse.handle(event);
  const data = chunks.map((chunk) => JSON.parse(chunk.replace(/^data: /, "")) as JsonObject);
  const finishes = data.flatMap((d) =>
    ((d.choices as JsonObject[] | undefined) ?? []).map((c) => c.finish_reason),
  );
  assert.deepEqual(finishes, [null, null], "no chunk carries a finish_reason");
  assert.deepEqual((data.at(-2)?.usage as JsonObject | undefined)?.total_tokens, 2);
  assert.deepEqual(data.at(-1), {
    error: {
      type: "server_error",
      code: "upstream_error",
      message: "The upstream closed the stream.",
      param: null,
    },
  });
});
