/**
 * The upstream HTTP client hands undici the request body as a Buffer, not as the serialized string:
 * undici's request handler keeps its body until the response ends, so a string would keep the
 * whole serialized window on the JS heap for the length of a stream.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { Pool } from "undici";
import { createAnthropicProvider } from "./anthropic.ts";
import type { ProviderError } from "./errors.ts";
import { createHttpClient, DEFAULT_TIMEOUTS } from "./http.ts";
import { createOpenAIChatProvider } from "./openai-chat.ts";
import { collect } from "./test-support.ts";

describe("upstream http client", () => {
  test("sends the JSON body as a Buffer of its UTF-8 bytes, streamed or not", async () => {
    const seen: unknown[] = [];
    const pool = {
      async request(opts: { body: unknown }) {
        seen.push(opts.body);
        return {
          statusCode: 200,
          headers: {},
          body: {
            destroyed: true,
            json: async () => ({ ok: true }),
            iterator: () => (async function* () {})(),
          },
        };
      },
    } as unknown as Pool;
    const client = createHttpClient({
      provider: "test",
      baseUrl: "http://127.0.0.1:1/v1",
      headers: {},
      timeouts: DEFAULT_TIMEOUTS,
      pool,
    });
    const body = { model: "m", messages: [{ role: "user", content: "héllo ✓" }] };
    assert.deepEqual(await client.postJson("/chat/completions", body, undefined), { ok: true });
    const events = await client.postStream("/chat/completions", { ...body, stream: true }, undefined);
    for await (const _ of events) assert.fail("no events expected");
    assert.equal(seen.length, 2);
    for (const sent of seen) assert.ok(Buffer.isBuffer(sent), `body sent as ${typeof sent}`);
    assert.deepEqual(JSON.parse((seen[0] as Buffer).toString("utf8")), body);
    assert.deepEqual(JSON.parse((seen[1] as Buffer).toString("utf8")), { ...body, stream: true });
  });

  test("an error event that ends the upstream body fails the stream, without an unhandled 'error' event", async () => {
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      // Anthropic (and OpenAI-compatible servers) send the error and close the stream.
      const error =
        req.url === "/v1/messages"
          ? { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }
          : { error: { message: "model crashed" } };
      res.end(`data: ${JSON.stringify(error)}\n\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const claude = createHttpClient({
      provider: "up",
      baseUrl: base,
      headers: {},
      timeouts: DEFAULT_TIMEOUTS,
    });
    const chat = createHttpClient({
      provider: "up",
      baseUrl: `${base}/v1`,
      headers: {},
      timeouts: DEFAULT_TIMEOUTS,
    });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      for (let i = 0; i < 5; i++) {
        const anthropic = createAnthropicProvider({ name: "up", http: claude }).stream({
          model: "m",
          input: [],
        });
        await assert.rejects(collect(anthropic), (error: ProviderError) => error.status === 529);
        const openai = createOpenAIChatProvider({ name: "up", http: chat }).stream({ model: "m", input: [] });
        await assert.rejects(collect(openai), /failed mid-stream: model crashed/);
      }
      await delay(50);
      assert.deepEqual(uncaught, []);
    } finally {
      process.off("uncaughtException", onUncaught);
      await Promise.all([claude.close(), chat.close()]);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
