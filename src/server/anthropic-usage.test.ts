/**
 * Usage through an Anthropic upstream: cache reads and writes count as input (OpenAI semantics),
 * cache reads as `cached_tokens`. Streamed, the counts are cumulative per field: `message_delta`
 * may repeat the input counts, leave some out, or (through proxies) send them as null. A null or
 * missing cache field in `message_delta` used to reset the counts from `message_start`: input
 * tokens reported as 0 (null) or without the cached ones, and no cached tokens.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type OpenAI from "openai";
import { anthropicGatewayPerSuite, type FakeAnthropicAnswer } from "./fake-anthropic-upstream.ts";

const usage = {
  input_tokens: 10,
  cache_read_input_tokens: 100,
  cache_creation_input_tokens: 50,
  output_tokens: 7,
};
const expected = { input_tokens: 160, cached_tokens: 100, output_tokens: 7, total_tokens: 167 };

describe("usage through an Anthropic upstream", () => {
  const answers: FakeAnthropicAnswer[] = [];
  const claude = anthropicGatewayPerSuite(() => answers.shift() ?? { content: [] });

  const check = (response: OpenAI.Responses.Response): void => {
    assert.deepEqual(
      {
        input_tokens: response.usage?.input_tokens,
        cached_tokens: response.usage?.input_tokens_details.cached_tokens,
        output_tokens: response.usage?.output_tokens,
        total_tokens: response.usage?.total_tokens,
      },
      expected,
    );
  };

  test("not streamed: cache reads and writes are input, reads are cached", async () => {
    answers.push({ content: [{ type: "text", text: "hi" }], usage });
    check(await claude.client.responses.create({ model: "claude/claude-sonnet-4-5", input: "hi" }));
  });

  const deltas: Array<[string, Record<string, number | null> | undefined]> = [
    ["only output_tokens", undefined],
    ["every count repeated", usage],
    ["input_tokens repeated, cache counts left out", { input_tokens: 10, output_tokens: 7 }],
    [
      "input counts null",
      {
        input_tokens: null,
        cache_read_input_tokens: null,
        cache_creation_input_tokens: null,
        output_tokens: 7,
      },
    ],
  ];
  for (const [name, deltaUsage] of deltas) {
    test(`streamed, message_delta with ${name}: the counts of message_start are kept`, async () => {
      answers.push({
        content: [{ type: "text", text: "hi" }],
        usage,
        ...(deltaUsage === undefined ? {} : { deltaUsage }),
      });
      check(
        await claude.client.responses
          .stream({ model: "claude/claude-sonnet-4-5", input: "hi" })
          .finalResponse(),
      );
    });
  }
});

/**
 * The cost of cache writes. Anthropic charges input written to its prompt cache above plain input
 * (1.25x for the 5-minute cache); they were priced as plain input, so cost was underestimated.
 */
describe("the cost of Anthropic cache writes", () => {
  const answers: FakeAnthropicAnswer[] = [];
  const written = { input_tokens: 100, cache_creation_input_tokens: 10_000, output_tokens: 20 };
  const claude = anthropicGatewayPerSuite(
    () => answers.shift() ?? { content: [] },
    {},
    {
      "claude/claude-haiku-4-5": { pricing: { input: 1, output: 2, cachedInput: 0.5, cacheWrite: 4 } },
    },
  );

  const turnCost = async (model: string, stream: boolean): Promise<number> => {
    const conv = await claude.client.conversations.create({});
    answers.push({ content: [{ type: "text", text: "hi" }], usage: written });
    if (stream) {
      await claude.client.responses.stream({ model, input: "hi", conversation: conv.id }).finalResponse();
    } else await claude.client.responses.create({ model, input: "hi", conversation: conv.id });
    const res = await claude.t.app.inject({ method: "GET", url: `/v1/conversations/${conv.id}/usage` });
    const ledger = res.json() as { turns: Array<{ cost_usd: number }> };
    return ledger.turns[0]!.cost_usd;
  };
  const near = (actual: number, expected: number) =>
    assert.ok(Math.abs(actual - expected) < 1e-12, `cost ${actual}, expected ${expected}`);

  for (const stream of [false, true]) {
    test(`the catalog's cache-write price (${stream ? "streamed" : "not streamed"})`, async () => {
      // claude-sonnet-4-5: input 3, cache write 3.75, output 15 USD per 1M tokens.
      near(await turnCost("claude/claude-sonnet-4-5", stream), (100 * 3 + 10_000 * 3.75 + 20 * 15) / 1e6);
    });
  }

  test("a configured cacheWrite price", async () => {
    near(await turnCost("claude/claude-haiku-4-5", false), (100 * 1 + 10_000 * 4 + 20 * 2) / 1e6);
  });

  // The input counts come with `message_start`: a stream cut before `message_delta` used to record
  // an estimate of the window instead, without the cache writes (priced as plain input).
  test("a stream cut after its first block keeps the reported input and cache writes", async () => {
    const conv = await claude.client.conversations.create({});
    answers.push({
      content: [
        { type: "text", text: "Partial answer" },
        { type: "text", text: "never sent" },
      ],
      usage: written,
      streamError: { type: "overloaded_error", message: "Overloaded", afterBlocks: 1 },
    });
    const stream = claude.client.responses.stream({
      model: "claude/claude-haiku-4-5",
      input: "hi",
      conversation: conv.id,
    });
    await assert.rejects(stream.finalResponse());
    const res = await claude.t.app.inject({ method: "GET", url: `/v1/conversations/${conv.id}/usage` });
    const turn = (res.json() as { turns: Array<Record<string, number | boolean>> }).turns[0]!;
    assert.equal(turn.input_tokens, 10_100);
    assert.equal(turn.estimated, true, "the output side is estimated");
    const output = turn.output_tokens as number;
    assert.ok(output > 0);
    near(turn.cost_usd as number, (100 * 1 + 10_000 * 4 + output * 2) / 1e6);
  });
});
