/**
 * Anthropic requires `max_tokens`. A client that sets no `max_output_tokens` (as most OpenAI
 * clients do) used to get 4096 whatever the model, so long answers from Claude were cut at 4096
 * tokens (`incomplete`, `max_output_tokens`) although the window had reserved the model's whole
 * output limit (64,000 for claude-sonnet-4-5). The default is now the model's output limit, from
 * the configuration, then the catalog; a fallback target gets its own model's.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { type FakeAnthropicUpstream, startFakeAnthropicUpstream } from "./fake-anthropic-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

describe("max_tokens sent to an Anthropic upstream", () => {
  let upstream: FakeAnthropicUpstream;
  let client: OpenAI;
  let close: () => Promise<void>;

  before(async () => {
    // The route `flaky` first tries a model this upstream is overloaded for, then falls back.
    upstream = await startFakeAnthropicUpstream((_, body) =>
      body.model === "claude-overloaded"
        ? { httpError: { status: 529, type: "overloaded_error", message: "Overloaded" } }
        : { content: [{ type: "text", text: "ok" }] },
    );
    ({ client, close } = await openSdkGateway(await createStore("memory:"), {
      providers: [{ name: "claude", type: "anthropic", baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } }],
      models: { "claude/claude-custom": { contextWindow: 50_000, maxOutputTokens: 12_345 } },
      routes: {
        flaky: [
          { provider: "claude", model: "claude-overloaded" },
          { provider: "claude", model: "claude-3-5-haiku" },
        ],
      },
    }));
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  const sent = (): unknown => upstream.seen.at(-1)?.max_tokens;

  for (const stream of [false, true]) {
    const ask = async (model: string, extra: { max_output_tokens?: number } = {}): Promise<void> => {
      if (stream) await client.responses.stream({ model, input: "hi", ...extra }).finalResponse();
      else await client.responses.create({ model, input: "hi", ...extra });
    };

    test(`${stream ? "streamed" : "not streamed"}: no max_output_tokens sends the model's output limit`, async () => {
      await ask("claude/claude-sonnet-4-5");
      assert.equal(sent(), 64_000, "the catalog's limit");
      await ask("claude/claude-custom");
      assert.equal(sent(), 12_345, "the configuration's limit");
      await ask("claude/claude-unknown-model");
      assert.equal(sent(), 4096, "a model nobody describes");
      await ask("flaky");
      assert.deepEqual(
        upstream.seen.slice(-2).map((body) => [body.model, body.max_tokens]),
        [
          ["claude-overloaded", 4096],
          ["claude-3-5-haiku", 8192],
        ],
        "a fallback target gets its own model's limit",
      );
    });

    test(`${stream ? "streamed" : "not streamed"}: the client's max_output_tokens is sent as is`, async () => {
      await ask("claude/claude-sonnet-4-5", { max_output_tokens: 300 });
      assert.equal(sent(), 300);
    });
  }

  test("Chat Completions without max_tokens sends the model's output limit too", async () => {
    await client.chat.completions.create({
      model: "claude/claude-sonnet-4-5",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(sent(), 64_000);
  });
});
