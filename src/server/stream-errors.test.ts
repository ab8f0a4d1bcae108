/**
 * A stream that fails after it opened (here: the answer is larger than the store keeps one item,
 * so its commit fails after every delta went out) ends with a terminal error event, not a stream
 * that just stops: OpenAI's `error` event numbered after the others on `/v1/responses`, an error
 * chunk then `[DONE]` on `/v1/chat/completions`. The official SDK's stream helpers raise it.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { listenLocal, openSdkGateway } from "./sdk-test-gateway.ts";
import type { TestApp } from "./test-helpers.ts";

const MAX_ITEM_BYTES = 24 * 1024;
const PIECE = "0123456789".repeat(100);

/** A Chat Completions server whose every answer is 30 KiB of text, streamed in 1000-byte pieces. */
function longAnswerUpstream(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let i = 0; i < 30; i++)
        res.write(`data: ${JSON.stringify({ id: "c", choices: [{ delta: { content: PIECE } }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ id: "c", choices: [{ delta: {}, finish_reason: "stop" }] })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
}

describe("a stream that fails after it opened", () => {
  let upstream: Server;
  let close: () => Promise<void>;
  let t: TestApp;
  let client: OpenAI;

  before(async () => {
    upstream = longAnswerUpstream();
    const upstreamPort = await listenLocal(upstream);
    const store = await createStore({ url: "memory:", maxItemBytes: MAX_ITEM_BYTES });
    ({ client, t, close } = await openSdkGateway(store, {
      providers: [{ name: "chat", type: "openai-chat", baseUrl: `http://127.0.0.1:${upstreamPort}/v1` }],
    }));
  });
  after(async () => {
    await close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  test("Responses: the last event is `error`, numbered after the others; the SDK raises it", async () => {
    const conv = await client.conversations.create({});
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: { model: "m", input: "write a lot", stream: true, conversation: conv.id },
    });
    assert.equal(res.statusCode, 200);
    const events = res.body
      .split("\n\n")
      .filter((block) => block.startsWith("event: "))
      .map((block) => JSON.parse(block.slice(block.indexOf("data: ") + 6)) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    const last = events.at(-1);
    assert.equal(last?.type, "error", `ends with an error event, not ${String(last?.type)}`);
    assert.equal(last?.code, "payload_too_large");
    assert.equal(typeof last?.message, "string");
    assert.ok("param" in (last ?? {}));

    const stream = client.responses.stream({ model: "m", input: "write a lot", conversation: conv.id });
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      (error: unknown) => error instanceof OpenAI.APIError && error.code === "payload_too_large",
    );
  });

  test("Chat Completions: an error chunk then [DONE]; the SDK raises it", async () => {
    // With Holdfast-Conversation the answer is stored, and storing it fails.
    const conv = await client.conversations.create({});
    const headers = { "Holdfast-Conversation": conv.id };
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers,
      payload: { model: "m", stream: true, messages: [{ role: "user", content: "write a lot" }] },
    });
    const data = res.body
      .split("\n\n")
      .filter(Boolean)
      .map((block) => block.replace(/^data: /, ""));
    assert.equal(data.at(-1), "[DONE]");
    const error = (JSON.parse(data.at(-2) ?? "{}") as { error?: { code?: string } }).error;
    assert.equal(error?.code, "payload_too_large");

    const stream = await client.chat.completions.create(
      { model: "m", stream: true, messages: [{ role: "user", content: "write a lot" }] },
      { headers },
    );
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      (error: unknown) => error instanceof OpenAI.APIError && error.code === "payload_too_large",
    );
  });
});
