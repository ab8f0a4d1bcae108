/**
 * A chat request whose tool calls and tool messages do not pair up is a 400 in the chat request's
 * words (messages[i], tool_call_id, tool_calls, the Holdfast-Conversation header), not in those
 * of the Responses input the turn checks (input[i], function_call, previous_response_id). The
 * same mistakes on /v1/responses keep their Responses wording.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type OpenAI from "openai";
import { BadRequestError } from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

const user: ChatCompletionMessageParam = { role: "user", content: "call f" };
const asked = (...ids: string[]): ChatCompletionMessageParam => ({
  role: "assistant",
  content: null,
  tool_calls: ids.map((id) => ({ id, type: "function", function: { name: "f", arguments: "{}" } })),
});
const answer = (id: string): ChatCompletionMessageParam => ({
  role: "tool",
  tool_call_id: id,
  content: "42",
});

/** Words of the Responses input a chat client never sent. */
const RESPONSES_WORDS = /input\[|function_call|previous_response_id|\bconversation or\b/;

function assertChat400(error: unknown, param: string, message: RegExp): true {
  assert.ok(error instanceof BadRequestError, String(error));
  assert.equal(error.code, "invalid_argument");
  assert.equal(error.param, param);
  assert.match(error.message, message);
  assert.doesNotMatch(error.message, RESPONSES_WORDS);
  return true;
}

async function rejectsChat(
  client: OpenAI,
  messages: ChatCompletionMessageParam[],
  param: string,
  message: RegExp,
  conversation?: string,
): Promise<void> {
  const headers = conversation === undefined ? {} : { "Holdfast-Conversation": conversation };
  for (const stream of [false, true]) {
    await assert.rejects(
      client.chat.completions.create({ model: "mock", messages, stream }, { headers }),
      (e) => assertChat400(e, param, message),
    );
  }
}

describe("Chat Completions tool pairs", () => {
  test("without a conversation: each mistake names the message and its tool_call_id or tool call", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      await rejectsChat(
        client,
        [answer("call_1")],
        "messages[0].tool_call_id",
        /^400 messages\[0\] answers tool_call_id 'call_1', but no assistant message before it has a tool call with that id: .*Holdfast-Conversation header\.$/,
      );
      await rejectsChat(
        client,
        [user, asked("call_1")],
        "messages[1].tool_calls[0].id",
        /^400 messages\[1\]\.tool_calls\[0\] \(id 'call_1'\) has no tool message after it: an assistant message with tool_calls must be followed by a tool message with tool_call_id 'call_1'/,
      );
      await rejectsChat(
        client,
        [user, asked("call_1", "call_1"), answer("call_1")],
        "messages[1].tool_calls[1].id",
        /^400 messages\[1\]\.tool_calls\[1\]\.id 'call_1' is the id of an earlier tool call in messages/,
      );
      await rejectsChat(
        client,
        [user, asked("call_1"), answer("call_1"), answer("call_1")],
        "messages[3].tool_call_id",
        /^400 messages\[3\] answers tool_call_id 'call_1', which an earlier tool message already answers/,
      );
    } finally {
      await close();
    }
  });

  test("on a conversation: a tool message for a call it lacks or has answered names the header", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const conv = await client.conversations.create({
        items: [
          { type: "function_call", call_id: "call_done", name: "f", arguments: "{}" },
          { type: "function_call_output", call_id: "call_done", output: "42" },
        ],
      });
      await rejectsChat(
        client,
        [answer("call_9")],
        "messages[0].tool_call_id",
        /^400 messages\[0\] answers tool_call_id 'call_9', but no tool call with that id is in messages before it or in the conversation named by the Holdfast-Conversation header/,
        conv.id,
      );
      await rejectsChat(
        client,
        [user, answer("call_done")],
        "messages[1].tool_call_id",
        /^400 messages\[1\] answers tool_call_id 'call_done', which the conversation named by the Holdfast-Conversation header already holds a tool message for/,
        conv.id,
      );
      // Nothing was written by the refused turns.
      const items = await client.conversations.items.list(conv.id);
      assert.equal(items.data.length, 2);
    } finally {
      await close();
    }
  });

  test("the same mistakes on /v1/responses keep their Responses wording", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      await assert.rejects(
        client.responses.create({
          model: "mock",
          input: [{ type: "function_call_output", call_id: "call_1", output: "42" }],
        }),
        {
          param: "input[0].call_id",
          message:
            "400 input[0] answers call_id 'call_1', but input holds no function_call with that call_id before it and the turn has no history: give the conversation or previous_response_id whose response made the call.",
        },
      );
      await assert.rejects(
        client.responses.create({
          model: "mock",
          input: [
            { role: "user", content: "call f" },
            { type: "function_call", call_id: "call_1", name: "f", arguments: "{}" },
          ],
        }),
        {
          param: "input[1].call_id",
          message:
            "400 input[1] is a function_call (call_id 'call_1') without its function_call_output after it in input; send each call together with its output.",
        },
      );
    } finally {
      await close();
    }
  });
});
