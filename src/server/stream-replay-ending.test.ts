/**
 * A stream replayed by `Idempotency-Key` ends as the first stream did. A turn cut by an upstream
 * failure mid-stream is stored `incomplete` with the error, and its stream ends with OpenAI's
 * `error` event (a chat stream with an error chunk), which the SDKs raise. Its replay used to end
 * as a clean `response.incomplete` (a chat stream with `finish_reason: "length"`), which clients
 * take for an answer cut by its token limit, and accept.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

/** How a stream ended: its closing event's type, or the code of the error the SDK raised. */
async function ending(events: AsyncIterable<{ type?: string; choices?: unknown }>): Promise<string> {
  let end = "no end";
  try {
    for await (const event of events) {
      if (event.type === "response.completed" || event.type === "response.incomplete") end = event.type;
      const choice = (event.choices as { finish_reason?: string | null }[] | undefined)?.[0];
      if (choice?.finish_reason) end = `finish_reason ${choice.finish_reason}`;
    }
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return `raised ${error.code}`;
  }
  return end;
}

describe("a replayed stream of a turn cut by an upstream failure", () => {
  let upstream: MockUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    upstream = await createMockUpstream();
    ({ client, close } = await openSdkGateway(await createStore("memory:"), {
      providers: [
        // Every answer is cut after a few frames: the turn is stored incomplete with the error.
        {
          name: "cut",
          type: "openai-chat",
          baseUrl: `${upstream.url}/v1`,
          headers: { "x-mock-scenario": "cut:5" },
        },
      ],
    }));
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  test("Responses: the replay ends with the error event too", async () => {
    const conv = await client.conversations.create({});
    const run = async () =>
      ending(
        await client.responses.create(
          { model: "cut/mock", input: "tell me a long story", conversation: conv.id, stream: true },
          { headers: { "Idempotency-Key": "ending-responses" } },
        ),
      );
    assert.equal(await run(), "raised upstream_error");
    assert.equal(await run(), "raised upstream_error", "the replay");
  });

  test("Chat: the replay ends with the error chunk too", async () => {
    const conv = await client.conversations.create({});
    const headers = { "Idempotency-Key": "ending-chat", "Holdfast-Conversation": conv.id };
    const run = async () =>
      ending(
        await client.chat.completions.create(
          { model: "cut/mock", messages: [{ role: "user", content: "tell me a long story" }], stream: true },
          { headers },
        ),
      );
    assert.equal(await run(), "raised upstream_error");
    assert.equal(await run(), "raised upstream_error", "the replay");
  });
});
