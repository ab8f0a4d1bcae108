/**
 * An upstream that answered with no output and reported no usage — a Chat Completions server that
 * ignores `stream_options.include_usage` filtering its answer away (`finish_reason:
 * "content_filter"`, `content: null`) — still had the whole prompt and bills its input. The turn
 * used to record 0 tokens and cost 0 (only a turn with output had its input estimated); it now
 * records the window's input tokens, estimated (`usage.estimated: true`), output 0 (nothing to
 * count), priced at the model that answered.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

describe("an answer filtered away, its usage unreported", () => {
  let upstream: FakeChatUpstream;
  let store: SessionStore;
  let client: OpenAI;
  let close: () => Promise<void>;

  before(async () => {
    upstream = await startFakeChatUpstream(() => ({
      content: null,
      finish_reason: "content_filter",
      usage: null,
    }));
    store = await createStore("memory:");
    ({ client, close } = await openSdkGateway(store, {
      providers: [{ name: "chat", type: "openai-chat", baseUrl: upstream.baseUrl }],
      // One USD per token: the cost is the token count.
      models: { m: { pricing: { input: 1e6, output: 1e6 } } },
    }));
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  for (const stream of [false, true]) {
    test(`${stream ? "streamed" : "plain"} /v1/responses: the record counts the input, estimated`, async () => {
      const conversation = await client.conversations.create({});
      const request = { model: "chat/m", input: "Say hello", conversation: conversation.id };
      if (stream) {
        for await (const _event of await client.responses.create({ ...request, stream: true })) {
          // drained: the turn is committed before the stream ends
        }
      } else await client.responses.create(request);
      const [input, record] = await store.readItems("default", conversation.id);
      assert.equal(record?.type, "response_record");
      const windowTokens = input!.tokens;
      assert.ok(windowTokens > 0);
      assert.deepEqual(record!.content.usage, {
        input_tokens: windowTokens,
        output_tokens: 0,
        cached_tokens: 0,
        estimated: true,
      });
      assert.equal(record!.content.cost_usd, windowTokens);
    });
  }

  test("stateless chat stream: the usage chunk carries the estimated input", async () => {
    const chunks = await client.chat.completions.create({
      model: "chat/m",
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: Record<string, unknown> | undefined;
    for await (const chunk of chunks)
      if (chunk.usage) usage = chunk.usage as unknown as Record<string, unknown>;
    assert.ok(usage, "the stream ends with a usage chunk");
    assert.ok((usage.prompt_tokens as number) > 0, JSON.stringify(usage));
    assert.equal(usage.completion_tokens, 0);
    assert.equal(usage.estimated, true);
  });
});
