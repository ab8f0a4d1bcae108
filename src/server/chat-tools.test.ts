/**
 * A Chat Completions tool is `{ type: "function", function: { name, parameters, … } }`; the turn
 * checks it in its Responses form (`{ type, name, parameters }`). Its errors must name the fields
 * the chat client sent (`tools[0].function.parameters`), as OpenAI's do, not the translated ones.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BadRequestError } from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionTool } from "openai/resources/chat";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

const messages: ChatCompletionCreateParamsNonStreaming["messages"] = [{ role: "user", content: "call f" }];
const object = { type: "object", properties: {} };

function tool(fn: Record<string, unknown>): ChatCompletionTool {
  return { type: "function", function: fn } as unknown as ChatCompletionTool;
}

describe("Chat Completions tools", () => {
  test("a bad tool is a 400 whose param and message name the chat request's fields", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const cases: [ChatCompletionTool[], string, RegExp][] = [
        [
          [tool({ name: "f", parameters: { type: "string" } })],
          "tools[0].function.parameters.type",
          /must be "object"/,
        ],
        [
          [tool({ name: "f", parameters: object }), tool({ name: "f", parameters: object })],
          "tools[1].function.name",
          /'f' appears twice/,
        ],
        [[tool({ name: "no spaces", parameters: object })], "tools[0].function.name", /1-64 letters/],
        [[tool({ name: "f", parameters: "{}" })], "tools[0].function.parameters", /JSON Schema object/],
        [[tool({ name: "f", description: 5 })], "tools[0].function.description", /must be a string/],
        [
          [tool({ name: "f", parameters: { type: "object", properties: [] } })],
          "tools[0].function.parameters.properties",
          /object of JSON Schemas/,
        ],
      ];
      for (const [tools, param, message] of cases) {
        for (const stream of [false, true]) {
          await assert.rejects(
            client.chat.completions.create({ model: "mock", messages, tools, stream }),
            (error) => {
              assert.ok(error instanceof BadRequestError, String(error));
              assert.equal(error.code, "invalid_argument");
              assert.equal(error.param, param);
              assert.match(error.message, message);
              assert.ok(error.message.includes(param), `${error.message} names ${param}`);
              return true;
            },
          );
        }
      }
    } finally {
      await close();
    }
  });

  test("a `type` inside function does not turn a function tool into another kind", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const completion = await client.chat.completions.create({
        model: "mock",
        messages,
        tools: [tool({ name: "f", parameters: object, type: "custom" })],
      });
      assert.equal(completion.choices[0]!.finish_reason, "tool_calls");
      const [call] = completion.choices[0]!.message.tool_calls ?? [];
      assert.equal(call?.type === "function" ? call.function.name : null, "f");
    } finally {
      await close();
    }
  });
});
