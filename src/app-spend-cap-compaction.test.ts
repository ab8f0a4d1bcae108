/**
 * The daily spend cap counts what a turn's compaction spent on summarizer calls, not only the
 * turn's own call: a tenant whose turns cost little but whose conversations are compacted by a
 * paid model would otherwise never reach its cap. The fake upstream reports 1,000 prompt and 200
 * completion tokens per summarizer call ($0.00027 at gpt-4o-mini's price), 5 and 3 per turn.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHoldfastApp, type HoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";
import { type FakeChatUpstream, startFakeChatUpstream } from "./server/fake-chat-upstream.ts";

const SUMMARY = JSON.stringify({
  goal: "g",
  decisions: [],
  facts: ["f"],
  open_items: [],
  recent_context: "r",
});

function isSummarizerCall(body: Record<string, unknown>): boolean {
  const first = (body.messages as { content?: unknown }[] | undefined)?.[0];
  return typeof first?.content === "string" && first.content.startsWith("You compact");
}

describe("the daily spend cap and compaction", () => {
  let upstream: FakeChatUpstream;
  let holdfast: HoldfastApp;
  let summarizerCalls = 0;

  before(async () => {
    upstream = await startFakeChatUpstream((_n, body) => {
      if (!isSummarizerCall(body)) return { content: "Hello." };
      summarizerCalls++;
      return { content: SUMMARY, usage: { prompt_tokens: 1000, completion_tokens: 200 } };
    });
    holdfast = await createHoldfastApp({
      config: testServerConfig({
        store: "memory:",
        file: {
          providers: [{ name: "good", type: "openai-chat", baseUrl: upstream.baseUrl }],
          models: { small: { contextWindow: 20_000, maxOutputTokens: 1000 } },
          routes: { small: [{ provider: "good", model: "gpt-4o-mini" }] },
          // Far above a turn's own cost ($0.00000255), below one summarizer call's.
          rate_limits: { spend_per_day_usd: 0.0001 },
        },
      }),
      env: {},
    });
  });
  after(async () => {
    await holdfast.close();
    await upstream.close();
  });

  test("a turn whose compaction crossed the cap stops the tenant's next model call", async () => {
    const filler = (n: number) => ({
      type: "message",
      role: "user",
      content: `note ${n} ${"lorem ipsum dolor sit amet ".repeat(160)}`,
    });
    const created = await holdfast.app.inject({
      method: "POST",
      url: "/v1/conversations",
      payload: { items: Array.from({ length: 20 }, (_, i) => filler(i)) },
    });
    assert.equal(created.statusCode, 200, created.body);
    const conversation = (created.json() as { id: string }).id;
    const turn = () =>
      holdfast.app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: "small", input: "Hi", conversation },
      });
    const first = await turn();
    assert.equal(first.statusCode, 200, first.body);
    assert.ok(summarizerCalls > 0, "the turn compacted its conversation first");
    const second = await turn();
    assert.equal(second.statusCode, 429, second.body);
    const error = (second.json() as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "rate_limit_exceeded");
    assert.match(error.message, /daily spend cap/);
  });
});
