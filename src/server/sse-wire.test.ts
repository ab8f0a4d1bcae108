/**
 * The SSE translators build their event text from pre-serialized parts (the constant head of a
 * chat chunk, a response serialized once for two events). These tests pin the bytes to what
 * serializing each whole event object gives, in key order, for a turn with text, a tool call,
 * usage, a quoted model name and a failure.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chatChunk } from "../engine/turn/chat-compat.ts";
import type { EngineEvent } from "../engine/turn/turn-engine.ts";
import { HoldfastError } from "../store/errors.ts";
import type { JsonObject } from "../store/types.ts";
import { ChatSse } from "./chat-sse.ts";
import { ResponsesSse } from "./responses-sse.ts";

const response = (status: string, output: JsonObject[] = []): JsonObject => ({
  id: "resp_0123456789abcdef0123456789abcdef",
  object: "response",
  created_at: 1_795_250_798,
  status,
  model: 'gpt "quoted" \u2028 model',
  output,
  usage: { input_tokens: 23, output_tokens: 16, total_tokens: 39 },
});
const message = { type: "message", id: "msg_1", role: "assistant", status: "in_progress", content: [] };
const doneMessage = {
  ...message,
  status: "completed",
  content: [{ type: "output_text", text: 'Hi "there"\n', annotations: [] }],
};
const call = { type: "function_call", id: "fc_1", call_id: "call_1", name: "lookup", arguments: "" };
const doneCall = { ...call, arguments: '{"q":"\u00e9"}', status: "completed" };

/**
 * How the turn ends: completed; failed mid-stream with part of its answer kept (the response is
 * stored `incomplete`); or failed and stored `failed`.
 */
type End = "completed" | "interrupted" | "failed";

function turn(end: End): EngineEvent[] {
  const provider = (event: unknown): EngineEvent => ({ type: "provider", event }) as EngineEvent;
  return [
    { type: "created", response: response("in_progress") },
    provider({ type: "item_added", output_index: 0, item: message }),
    provider({ type: "text_delta", output_index: 0, item_id: "msg_1", delta: 'Hi "there"' }),
    provider({ type: "text_delta", output_index: 0, item_id: "msg_1", delta: "\n" }),
    provider({ type: "item_done", output_index: 0, item: doneMessage }),
    provider({ type: "item_added", output_index: 1, item: call }),
    provider({
      type: "function_call_arguments_delta",
      output_index: 1,
      item_id: "fc_1",
      call_id: "call_1",
      delta: '{"q":"\u00e9"}',
    }),
    provider({ type: "item_done", output_index: 1, item: doneCall }),
    end === "completed"
      ? { type: "completed", response: response("completed", [doneMessage, doneCall]) }
      : {
          type: "failed",
          response:
            end === "interrupted"
              ? response("incomplete", [doneMessage])
              : {
                  ...response("failed"),
                  error: { code: "upstream_error", message: "the upstream went away" },
                },
          error: new HoldfastError("upstream_error", "the upstream went away"),
        },
  ];
}

function written(
  handle: (write: (chunk: string) => void) => (event: EngineEvent) => void,
  events: EngineEvent[],
) {
  const chunks: string[] = [];
  const push = handle((chunk) => chunks.push(chunk));
  for (const event of events) push(event);
  return chunks;
}

describe("SSE wire text", () => {
  for (const end of ["completed", "interrupted", "failed"] as const) {
    test(`chat.completion.chunk events equal their serialized chunk objects (${end})`, () => {
      const chunks = written((write) => {
        const sse = new ChatSse(write, true);
        return (event) => sse.handle(event);
      }, turn(end));
      const id = "chatcmpl-0123456789abcdef0123456789abcdef";
      const model = 'gpt "quoted" \u2028 model';
      const created = 1_795_250_798;
      const chunk = (delta: JsonObject, finish: string | null = null) =>
        `data: ${JSON.stringify(chatChunk(id, model, created, delta, finish))}\n\n`;
      const expected = [
        chunk({ role: "assistant", content: "" }),
        chunk({ content: 'Hi "there"' }),
        chunk({ content: "\n" }),
        chunk({
          tool_calls: [
            { index: 0, id: "call_1", type: "function", function: { name: "lookup", arguments: "" } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":"\u00e9"}' } }] }),
        // A completed turn that ends with a tool call finishes with "tool_calls"; a failed one
        // claims no finish at all: its usage, then the error chunk.
        ...(end === "completed" ? [chunk({}, "tool_calls")] : []),
        `data: ${JSON.stringify({
          ...chatChunk(id, model, created, {}, null),
          choices: [],
          usage: {
            prompt_tokens: 23,
            completion_tokens: 16,
            total_tokens: 39,
            prompt_tokens_details: { cached_tokens: 0 },
            completion_tokens_details: { reasoning_tokens: 0 },
          },
        })}\n\n`,
        ...(end !== "completed"
          ? [
              `data: ${JSON.stringify({
                error: {
                  type: "server_error",
                  code: "upstream_error",
                  message: "the upstream went away",
                  param: null,
                },
              })}\n\n`,
            ]
          : []),
      ];
      assert.deepEqual(chunks, expected);
    });

    test(`Responses events equal their serialized event objects (${end})`, () => {
      const events = turn(end);
      const chunks = written((write) => {
        const sse = new ResponsesSse(write);
        return (event) => sse.handle(event);
      }, events);
      let sequence = 0;
      const event = (type: string, payload: JsonObject) =>
        `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...payload })}\n\n`;
      const base = { item_id: "msg_1", output_index: 0, content_index: 0 };
      const last = events.at(-1) as Extract<EngineEvent, { type: "completed" | "failed" }>;
      const expected = [
        event("response.created", { response: response("in_progress") }),
        event("response.in_progress", { response: response("in_progress") }),
        event("response.output_item.added", { output_index: 0, item: message }),
        event("response.content_part.added", {
          ...base,
          part: { type: "output_text", text: "", annotations: [] },
        }),
        event("response.output_text.delta", { ...base, delta: 'Hi "there"', logprobs: [] }),
        event("response.output_text.delta", { ...base, delta: "\n", logprobs: [] }),
        event("response.output_text.done", { ...base, text: 'Hi "there"\n', logprobs: [] }),
        event("response.content_part.done", {
          ...base,
          part: { type: "output_text", text: 'Hi "there"\n', annotations: [] },
        }),
        event("response.output_item.done", { output_index: 0, item: doneMessage }),
        event("response.output_item.added", { output_index: 1, item: call }),
        event("response.function_call_arguments.delta", {
          item_id: "fc_1",
          output_index: 1,
          delta: '{"q":"\u00e9"}',
        }),
        event("response.function_call_arguments.done", {
          item_id: "fc_1",
          output_index: 1,
          arguments: '{"q":"\u00e9"}',
        }),
        event("response.output_item.done", { output_index: 1, item: doneCall }),
        end === "completed"
          ? event("response.completed", { response: last.response })
          : end === "interrupted"
            ? // Stored incomplete: OpenAI's error event, not a response.failed the record contradicts.
              event("error", { code: "upstream_error", message: "the upstream went away", param: null })
            : event("response.failed", { response: last.response }),
      ];
      assert.deepEqual(chunks, expected);
    });
  }
});
