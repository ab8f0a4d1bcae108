/**
 * The upstream HTTP client hands undici the request body as a Buffer, not as the serialized string:
 * undici's request handler keeps its body until the response ends, so a string would keep the
 * whole serialized window on the JS heap for the length of a stream.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Pool } from "undici";
import { createHttpClient, DEFAULT_TIMEOUTS } from "./http.ts";

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
});
