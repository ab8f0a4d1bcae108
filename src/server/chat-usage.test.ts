/**
 * Usage an upstream did not report is estimated and marked `usage.estimated: true`; Chat
 * Completions answers carry the mark as Responses answers do: plain and streamed, stateless and
 * with `Holdfast-Conversation`. The upstream is a Chat Completions server that ignores
 * `stream_options.include_usage` and sends no usage at all.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { listenLocal, openSdkGateway } from "./sdk-test-gateway.ts";

/** Answers every chat completion with "Hello there, friend." and no usage. */
function usagelessUpstream(): Server {
  return createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => {
      raw += chunk;
    });
    req.on("end", () => {
      const body = JSON.parse(raw) as { stream?: boolean; model: string };
      if (!body.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            id: "cc_1",
            object: "chat.completion",
            model: body.model,
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: "Hello there, friend." },
                finish_reason: "stop",
              },
            ],
          }),
        );
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const text of ["Hello ", "there, ", "friend."]) {
        res.write(
          `data: ${JSON.stringify({ id: "cc_1", model: body.model, choices: [{ delta: { content: text } }] })}\n\n`,
        );
      }
      res.write(
        `data: ${JSON.stringify({ id: "cc_1", choices: [{ delta: {}, finish_reason: "stop" }] })}\n\n`,
      );
      res.end("data: [DONE]\n\n");
    });
  });
}

describe("Chat Completions answers mark estimated usage", () => {
  let upstream: Server;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    upstream = usagelessUpstream();
    const upstreamPort = await listenLocal(upstream);
    const store = await createStore("memory:");
    ({ client, close } = await openSdkGateway(store, {
      providers: [{ name: "chat", type: "openai-chat", baseUrl: `http://127.0.0.1:${upstreamPort}/v1` }],
    }));
  });
  after(async () => {
    await close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  test("plain and streamed, stateless and on a conversation", async () => {
    const conversation = await client.conversations.create({});
    for (const headers of [{}, { "Holdfast-Conversation": conversation.id }]) {
      const request = { model: "chat/m", messages: [{ role: "user" as const, content: "Say hello" }] };
      const plain = await client.chat.completions.create(request, { headers });
      assert.equal(plain.choices[0]?.message.content, "Hello there, friend.");
      const usage = plain.usage as unknown as Record<string, unknown>;
      assert.equal(usage.estimated, true, JSON.stringify(usage));
      assert.ok((usage.prompt_tokens as number) > 0 && (usage.completion_tokens as number) > 0);

      const stream = await client.chat.completions.create(
        { ...request, stream: true, stream_options: { include_usage: true } },
        { headers },
      );
      let streamed: Record<string, unknown> | undefined;
      for await (const chunk of stream)
        if (chunk.usage) streamed = chunk.usage as unknown as Record<string, unknown>;
      assert.ok(streamed, "the stream ends with a usage chunk");
      assert.equal(streamed.estimated, true, JSON.stringify(streamed));
      assert.ok((streamed.completion_tokens as number) > 0);
    }
    // The same turns through the Responses API carry the mark too (the reference behaviour).
    const response = await client.responses.create({ model: "chat/m", input: "Say hello" });
    assert.equal((response.usage as unknown as Record<string, unknown>).estimated, true);
  });
});
