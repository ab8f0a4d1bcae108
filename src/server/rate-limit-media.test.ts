/**
 * A model call's token reservation prices images, files and audio at their cost, not their
 * base64: a 700 KB photo was estimated at ~180,000 tokens (body length / 4), so it took a whole
 * tokens-per-minute budget below that (an estimate above the budget takes all of it): a second
 * request in the same minute was refused 429, though the model charged ~800 tokens for the photo.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createMemoryRateLimitBackend } from "../security/rate-limit/memory-backend.ts";
import { openRateLimitedServer, type RateLimitedServer } from "./rate-limit-test-support.ts";

/** A PNG data URL of 1024×768 (its header) with ~700 KB of base64 in all. */
function photo(): string {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write("IHDR", 4, "latin1");
  ihdr.writeUInt32BE(1024, 8);
  ihdr.writeUInt32BE(768, 12);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const png = Buffer.concat([signature, ihdr, randomBytes(525_000)]);
  return `data:image/png;base64,${png.toString("base64")}`;
}

describe("token reservations of requests carrying media", () => {
  let server: RateLimitedServer;
  let app: FastifyInstance;
  let headers: Record<string, string>;

  before(async () => {
    // Room for a few photos at their cost, not for one at its base64 size.
    server = await openRateLimitedServer({
      backend: createMemoryRateLimitBackend({ clock: () => 0 }),
      tokensPerMinute: 20_000,
    });
    ({ app, headers } = server);
  });
  after(() => server.close());

  test("Responses turns with a photo, one after another, fit a 20,000 tokens/min budget", async () => {
    const image = photo();
    assert.ok(image.length > 690_000);
    for (let turn = 0; turn < 3; turn++) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/responses",
        headers,
        payload: {
          model: "mock",
          store: false,
          max_output_tokens: 100,
          input: [
            {
              type: "message",
              role: "user",
              content: [
                { type: "input_text", text: "What is in this photo?" },
                { type: "input_image", image_url: image, detail: "auto" },
              ],
            },
          ],
        },
      });
      assert.equal(response.statusCode, 200, `turn ${turn}: ${response.body.slice(0, 300)}`);
    }
  });

  test("a Chat request with a photo is not refused either; a text body as large still is", async () => {
    const image = photo();
    const chat = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers,
      payload: {
        model: "mock",
        max_tokens: 100,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Describe it." },
              { type: "image_url", image_url: { url: image } },
            ],
          },
        ],
      },
    });
    assert.equal(chat.statusCode, 200, chat.body.slice(0, 300));
    // Text is still estimated by its size: the budget holds for what the model would really read.
    const text = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers,
      payload: {
        model: "mock",
        max_tokens: 100,
        messages: [{ role: "user", content: "x ".repeat(200_000) }],
      },
    });
    assert.equal(text.statusCode, 429, text.body.slice(0, 300));
    assert.equal((text.json() as { error: { code: string } }).error.code, "rate_limit_exceeded");
  });
});
