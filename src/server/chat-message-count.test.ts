/**
 * A chat request whose messages make no input item (system or developer messages only, or an
 * assistant message carrying nothing) or more items than one turn takes was refused with the
 * Responses API's words: `input must hold 1 to 1000 items.` — a field the chat client never sent,
 * and no word of what to change. The refusal now names `messages` and says what to fix.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { LIMITS } from "../store/validate.ts";
import { openSdkGateway, type SdkGateway } from "./sdk-test-gateway.ts";

describe("chat messages that make no input item, or too many", () => {
  let gateway: SdkGateway;
  before(async () => {
    gateway = await openSdkGateway(await createStore("memory:"));
  });
  after(() => gateway.close());

  const send = async (messages: unknown[]) => {
    const res = await gateway.t.app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "mock", messages },
    });
    return { status: res.statusCode, error: (res.json() as { error: Record<string, unknown> }).error };
  };

  test("system and developer messages alone: 400 naming messages, saying they become instructions", async () => {
    const { status, error } = await send([
      { role: "system", content: "Be brief." },
      { role: "developer", content: "Answer in French." },
    ]);
    assert.equal(status, 400);
    assert.equal(error.code, "invalid_argument");
    assert.equal(error.param, "messages");
    assert.doesNotMatch(String(error.message), /\binput\b/);
    assert.match(String(error.message), /system and developer messages become the instructions/);
    assert.match(String(error.message), /user message/);
  });

  test("an assistant message with nothing in it counts as no message", async () => {
    const { status, error } = await send([{ role: "assistant", content: "" }]);
    assert.equal(status, 400);
    assert.equal(error.param, "messages");
    assert.doesNotMatch(String(error.message), /\binput\b/);
  });

  test("more messages than a turn takes: 400 naming messages and the limit, counting tool calls", async () => {
    const messages: unknown[] = [{ role: "system", content: "Be brief." }];
    // Each assistant message with a call is two items (its text and the call), its tool message one.
    for (let i = 0; messages.length <= LIMITS.itemsPerAppend * 0.75; i++) {
      messages.push(
        {
          role: "assistant",
          content: "Looking.",
          tool_calls: [{ id: `c${i}`, type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: `c${i}`, content: "ok" },
      );
    }
    messages.push({ role: "user", content: "Done?" });
    const { status, error } = await send(messages);
    assert.equal(status, 400);
    assert.equal(error.code, "invalid_argument");
    assert.equal(error.param, "messages");
    assert.doesNotMatch(String(error.message), /\binput\b/);
    assert.match(String(error.message), new RegExp(`at most ${LIMITS.itemsPerAppend}`));
    assert.match(String(error.message), /tool call/);
  });

  test("exactly as many items as a turn takes still passes", async () => {
    const messages = Array.from({ length: LIMITS.itemsPerAppend }, (_, i) => ({
      role: i % 2 === 0 ? "user" : "assistant",
      content: `m${i}`,
    }));
    messages.unshift({ role: "system", content: "Be brief." });
    const { status } = await send(messages);
    assert.equal(status, 200);
  });
});
