/**
 * Token reservations are settled with what the turn spent upstream: an idempotent replay, which
 * calls no model, gives its whole reservation back (it used to be charged the first turn's
 * tokens again); a stream whose client left is settled at the usage recorded for it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { type FakeUpstreamServer, startFakeUpstreamServer } from "./fake-upstream-server.ts";
import { countingBackend, openRateLimitedServer, type RateLimitedServer } from "./rate-limit-test-support.ts";

describe("token reservations settle at what the turn spent", () => {
  let upstream: FakeUpstreamServer;
  let server: RateLimitedServer;
  let app: FastifyInstance;
  let url: string;
  let headers: Record<string, string>;
  const backend = countingBackend();

  before(async () => {
    // Streams two pieces of an answer, then hangs until the client leaves.
    upstream = await startFakeUpstreamServer((_n, body, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const content of ["Hello there, ", "my friend."]) {
        const chunk = { id: "c", model: body.model, choices: [{ index: 0, delta: { content } }] };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
    });
    const providers = { providers: [{ name: "up", type: "openai-chat", baseUrl: upstream.baseUrl }] };
    server = await openRateLimitedServer({ backend, tokensPerMinute: 1_000_000, providers });
    ({ app, headers } = server);
    url = await app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  const post = (body: object, extra: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${url}/v1/responses`, {
      method: "POST",
      headers: { ...headers, ...extra },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });

  test("an idempotent replay, plain or streamed, is not charged again", async () => {
    const start = backend.net();
    const body = { model: "mock", input: "Hello there" };
    const first = (await (await post(body, { "idempotency-key": "settle-1" })).json()) as {
      id: string;
      usage: { total_tokens: number };
    };
    assert.ok(first.usage.total_tokens > 0);
    assert.equal(backend.net() - start, first.usage.total_tokens);
    const again = (await (await post(body, { "idempotency-key": "settle-1" })).json()) as { id: string };
    assert.equal(again.id, first.id, "a replay");
    const streamed = await post({ ...body, stream: true }, { "idempotency-key": "settle-1" });
    assert.ok((await streamed.text()).includes(first.id), "a streamed replay");
    assert.equal(backend.net() - start, first.usage.total_tokens, "replays were charged");
  });

  test("a stream the client left is settled at the usage recorded for it", async () => {
    const conversation = (await (
      await fetch(`${url}/v1/conversations`, { method: "POST", headers, body: "{}" })
    ).json()) as { id: string };
    const start = backend.net();
    const client = new AbortController();
    const res = await post(
      { model: "up/m", input: "Hi", stream: true, conversation: conversation.id },
      {},
      client.signal,
    );
    const reader = res.body!.getReader();
    for (let text = ""; !text.includes("my friend"); ) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    client.abort();
    let total = 0;
    for (let i = 0; i < 100 && total === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const usage = await fetch(`${url}/v1/conversations/${conversation.id}/usage`, { headers });
      const body = (await usage.json()) as { total: { input_tokens: number; output_tokens: number } };
      total = body.total.input_tokens + body.total.output_tokens;
    }
    assert.ok(total > 0, "the partial turn's usage was recorded");
    for (let i = 0; i < 100 && backend.net() - start !== total; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(backend.net() - start, total);
  });
});
