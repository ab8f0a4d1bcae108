/** The turn's `input[i]…` params named as the chat request's `messages[m]…`. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConflictError, conversationBusy, PayloadTooLargeError } from "../../store/errors.ts";
import { UnsupportedContentError } from "../providers/errors.ts";
import { chatMessagesToInput } from "./chat-compat.ts";
import { chatParam, toChatError } from "./chat-params.ts";

const { input, sources } = chatMessagesToInput([
  { role: "system", content: "Be brief." },
  { role: "user", content: "Call f." },
  {
    role: "assistant",
    content: "Calling.",
    tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
  },
  { role: "tool", tool_call_id: "c1", content: "done" },
  {
    role: "user",
    content: [
      { type: "text", text: "Look." },
      { type: "image_url", image_url: { url: "u" } },
    ],
  },
]);

test("each item names the message (or tool call) it came from, and its fields theirs", () => {
  assert.deepEqual(
    input.map((item) => item.type),
    ["message", "message", "function_call", "function_call_output", "message"],
  );
  const cases: [string, string][] = [
    ["input", "messages"],
    ["input[0]", "messages[1]"],
    ["input[0].content[0]", "messages[1].content"],
    ["input[1].content[0].text", "messages[2].content"],
    ["input[2].call_id", "messages[2].tool_calls[0].id"],
    ["input[2].arguments", "messages[2].tool_calls[0].function.arguments"],
    ["input[3].output[0]", "messages[3].content"],
    ["input[3].call_id", "messages[3].tool_call_id"],
    ["input[4].content[1]", "messages[4].content[1]"],
    ["input[4].content[1].image_url", "messages[4].content[1].image_url"],
    ["input[4].id", "messages[4]"],
    ["input[9].content[0]", "input[9].content[0]"],
    ["model", "model"],
  ];
  for (const [param, expected] of cases) assert.equal(chatParam(param, sources), expected, param);
});

test("errors keep their class, code and message, renamed", () => {
  const refused = new UnsupportedContentError("input[4].content[1]: this 'x' part cannot be sent.", {
    param: "input[4].content[1]",
  });
  const renamed = toChatError(refused, sources) as UnsupportedContentError;
  assert.ok(renamed instanceof UnsupportedContentError);
  assert.equal(renamed.code, "unsupported_content");
  assert.equal(renamed.fault, "caller");
  assert.equal(renamed.param, "messages[4].content[1]");
  assert.equal(renamed.message, "messages[4].content[1]: this 'x' part cannot be sent.");
  assert.equal(refused.param, "input[4].content[1]", "the original is not changed");

  const whole = new PayloadTooLargeError("The input tokens are too many.", { param: "input" });
  const renamedWhole = toChatError(whole, sources) as PayloadTooLargeError;
  assert.equal(renamedWhole.param, "messages");
  assert.equal(renamedWhole.message, "The input tokens are too many.");

  const other = new Error("boom");
  assert.equal(toChatError(other, sources), other);
});

test("a conversation's errors name the Holdfast-Conversation header, the chat request's name for it", () => {
  const busy = conversationBusy("conv_0123456789abcdef");
  const renamed = toChatError(busy, sources) as ConflictError;
  assert.ok(renamed instanceof ConflictError);
  assert.equal(renamed.code, "conversation_busy");
  assert.equal(renamed.param, "Holdfast-Conversation");
  assert.equal(renamed.message, busy.message, "the word conversation in the message stays");
});
