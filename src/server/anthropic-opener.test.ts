/**
 * Anthropic wants a user message first, so a history starting with the assistant gets a short
 * user message before it. A stateless request whose messages start with the assistant (a
 * greeting the client shows first) got "[holdfast: earlier conversation omitted to fit the
 * context window]", though nothing was omitted: the model was told of a past that never was.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anthropicGatewayPerSuite } from "./fake-anthropic-upstream.ts";

const MODEL = "claude/claude-sonnet-4-5";

describe("a stateless request starting with the assistant, to an Anthropic upstream", () => {
  const claude = anthropicGatewayPerSuite(() => ({ content: [{ type: "text", text: "Sure." }] }));
  const sentMessages = () =>
    claude.upstream.seen.at(-1)!.messages as Array<{ role: string; content: unknown }>;
  const expected = [
    { role: "user", content: [{ type: "text", text: "[holdfast: start of the conversation]" }] },
    { role: "assistant", content: [{ type: "text", text: "Hi! How can I help?" }] },
    { role: "user", content: [{ type: "text", text: "Plan my week." }] },
  ];

  test("Responses: the opener says where the conversation starts, not that any was omitted", async () => {
    const res = await claude.t.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: {
        model: MODEL,
        store: false,
        input: [
          { role: "assistant", content: "Hi! How can I help?" },
          { role: "user", content: "Plan my week." },
        ],
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(sentMessages(), expected);
  });

  test("Chat Completions: the same", async () => {
    const res = await claude.t.app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: MODEL,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "assistant", content: "Hi! How can I help?" },
          { role: "user", content: "Plan my week." },
        ],
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(sentMessages(), expected);
  });
});
