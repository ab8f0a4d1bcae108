/** The Response object as a Chat Completions answer: finish reasons. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JsonObject } from "../../store/types.ts";
import { chatFinishReason, responseToChatCompletion } from "./chat-compat.ts";

const message = {
  type: "message",
  id: "msg_1",
  role: "assistant",
  status: "incomplete",
  content: [{ type: "output_text", text: "Partial", annotations: [] }],
};

function response(status: string, reason: string | null): JsonObject {
  return {
    id: "resp_0123456789abcdef0123456789abcdef",
    created_at: 1,
    model: "m",
    status,
    incomplete_details: reason === null ? null : { reason },
    output: [message],
    usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2, input_tokens_details: { cached_tokens: 0 } },
  };
}

test("finish_reason: filtered is content_filter, other incomplete answers length, complete ones stop", () => {
  const cases: [string, string | null, string][] = [
    ["incomplete", "content_filter", "content_filter"],
    ["incomplete", "max_output_tokens", "length"],
    ["incomplete", "paused", "length"],
    ["incomplete", "interrupted", "length"],
    ["completed", null, "stop"],
  ];
  for (const [status, reason, expected] of cases) {
    assert.equal(chatFinishReason(response(status, reason)), expected, `${status}/${reason}`);
    const choices = responseToChatCompletion(response(status, reason)).choices as JsonObject[];
    assert.equal(choices[0]?.finish_reason, expected, `${status}/${reason}`);
  }
});
