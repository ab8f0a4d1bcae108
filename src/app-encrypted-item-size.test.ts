/**
 * On a server that encrypts at rest (`HOLDFAST_KEYS`), the item size limit means what it means
 * without encryption: the JSON bytes of the item the caller sent (or the model answered). A turn
 * whose input or output is under it is answered and stored, though its sealed form is larger;
 * an input over it is refused with its own size before the model is called. (The store used to
 * limit the sealed form: a 900 KB input was refused naming a size nobody sent, and a 900 KB
 * answer was refused after the model had been paid.)
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createHoldfastApp, type HoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";
import { type FakeResponsesUpstream, startFakeResponsesUpstream } from "./server/fake-responses-upstream.ts";
import { LIMITS } from "./store/validate.ts";

const KEYS = `k1:${randomBytes(32).toString("base64")}`;
const NEAR_LIMIT = 900_000;

describe("item sizes on an encrypted server", () => {
  let dir: string;
  let upstream: FakeResponsesUpstream;
  let holdfast: HoldfastApp;
  let client: OpenAI;
  /** What the fake model answers next. */
  let answer = "ok";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-enc-size-"));
    upstream = await startFakeResponsesUpstream(() => [
      {
        type: "message",
        id: `msg_${randomBytes(8).toString("hex")}`,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: answer, annotations: [] }],
      },
    ]);
    holdfast = await createHoldfastApp({
      config: testServerConfig({
        store: `sqlite:${join(dir, "holdfast.db")}`,
        bodyLimit: 4 * LIMITS.itemBytes,
        file: { providers: [{ name: "resp", type: "openai-responses", baseUrl: upstream.baseUrl }] },
      }),
      env: { HOLDFAST_KEYS: KEYS },
    });
    assert.equal(holdfast.encrypted, true);
    await holdfast.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = holdfast.app.server.address() as AddressInfo;
    client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await holdfast?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The text of each message of `conversation`, in order. */
  async function texts(conversation: string): Promise<unknown[]> {
    const items = (await client.conversations.items.list(conversation, { order: "asc" })).data;
    return items.map((item) => (item.type === "message" ? item.content[0] : null));
  }

  test("a 900 KB input is answered, stored and read back", async () => {
    const conv = await client.conversations.create({});
    const text = "i".repeat(NEAR_LIMIT);
    answer = "ok";
    const response = await client.responses.create({ model: "resp/m", input: text, conversation: conv.id });
    assert.equal(response.output_text, "ok");
    assert.deepEqual(await texts(conv.id), [
      { type: "input_text", text },
      { type: "output_text", text: "ok", annotations: [] },
    ]);
  });

  test("a 900 KB answer is stored and read back", async () => {
    const conv = await client.conversations.create({});
    answer = "o".repeat(NEAR_LIMIT);
    const response = await client.responses.create({ model: "resp/m", input: "hi", conversation: conv.id });
    assert.equal(response.output_text, answer);
    assert.deepEqual(await texts(conv.id), [
      { type: "input_text", text: "hi" },
      { type: "output_text", text: answer, annotations: [] },
    ]);
  });

  test("an input over the limit is refused with its own size, before the model is called", async () => {
    const conv = await client.conversations.create({});
    answer = "ok";
    const calls = upstream.seen.length;
    const content = [{ type: "input_text" as const, text: "i".repeat(LIMITS.itemBytes) }];
    const size = Buffer.byteLength(JSON.stringify({ type: "message", role: "user", content }));
    await assert.rejects(
      client.responses.create({
        model: "resp/m",
        input: [{ type: "message", role: "user", content }],
        conversation: conv.id,
      }),
      (error: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(error.status, 413);
        assert.equal(error.code, "payload_too_large");
        assert.equal(error.param, "input[0]");
        assert.equal(error.message, `413 input[0] is ${size} bytes; the limit is ${LIMITS.itemBytes} bytes.`);
        return true;
      },
    );
    assert.equal(upstream.seen.length, calls, "the model was not called");
    assert.deepEqual((await client.conversations.items.list(conv.id)).data, [], "nothing was stored");
  });
});
