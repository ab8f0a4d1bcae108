/**
 * A model call's token reservation is estimated from its body's size. A body sent with
 * `Transfer-Encoding: chunked` has no Content-Length, and the estimate read only that header: it
 * counted 0 prompt tokens, so a client could pass any prompt under a tokens-per-minute budget
 * (settled with the real usage only after the model had been called).
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import { createMemoryRateLimitBackend } from "../security/rate-limit/memory-backend.ts";
import { openRateLimitedServer, type RateLimitedServer } from "./rate-limit-test-support.ts";

/** POSTs `body` in two chunks with `Transfer-Encoding: chunked` (and so no Content-Length). */
function postChunked(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const chunked = { ...headers, "transfer-encoding": "chunked" };
    const req = httpRequest(url, { method: "POST", headers: chunked }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    req.end(body.slice(half));
  });
}

describe("token reservations of chunked request bodies", () => {
  let server: RateLimitedServer;
  let base: string;

  before(async () => {
    // No refill (the clock stands still): what a request takes stays taken.
    server = await openRateLimitedServer({
      backend: createMemoryRateLimitBackend({ clock: () => 0 }),
      tokensPerMinute: 5_000,
    });
    base = await server.app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(() => server.close());

  test("a large prompt sent chunked is refused like the same body with Content-Length", async () => {
    const small = await fetch(`${base}/v1/responses`, {
      method: "POST",
      headers: server.headers,
      body: JSON.stringify({ model: "mock", store: false, input: "hi", max_output_tokens: 16 }),
    });
    assert.equal(small.status, 200, await small.text());
    // ~40 KB of prompt: ~10,000 tokens, above what is left of the 5,000.
    const large = JSON.stringify({
      model: "mock",
      store: false,
      input: "x ".repeat(20_000),
      max_output_tokens: 16,
    });
    const withLength = await fetch(`${base}/v1/responses`, {
      method: "POST",
      headers: server.headers,
      body: large,
    });
    assert.equal(withLength.status, 429, "with Content-Length");
    const chunked = await postChunked(`${base}/v1/responses`, server.headers, large);
    assert.equal(chunked.status, 429, `chunked: ${chunked.text.slice(0, 300)}`);
    assert.equal((JSON.parse(chunked.text) as { error: { code: string } }).error.code, "rate_limit_exceeded");
  });
});
