/**
 * The cost of Anthropic's 1-hour cache writes. Anthropic splits `cache_creation_input_tokens` in
 * `cache_creation: { ephemeral_5m_input_tokens, ephemeral_1h_input_tokens }`; a 1-hour write costs
 * 2x input, a 5-minute one 1.25x. The split was dropped and every write priced at the 5-minute
 * rate, so turns using the 1-hour cache were underestimated in the usage ledger.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anthropicGatewayPerSuite, type FakeAnthropicAnswer } from "./fake-anthropic-upstream.ts";

const split = {
  input_tokens: 100,
  cache_creation_input_tokens: 10_000,
  cache_creation: { ephemeral_5m_input_tokens: 4_000, ephemeral_1h_input_tokens: 6_000 },
  output_tokens: 20,
};
// claude-sonnet-4-5: input 3, 5-minute write 3.75, 1-hour write 6 (2x input), output 15 USD per 1M.
const SONNET = (100 * 3 + 4_000 * 3.75 + 6_000 * 6 + 20 * 15) / 1e6;

describe("the cost of Anthropic 1-hour cache writes", () => {
  const answers: FakeAnthropicAnswer[] = [];
  const claude = anthropicGatewayPerSuite(
    () => answers.shift() ?? { content: [] },
    {},
    {
      "claude/claude-haiku-4-5": {
        pricing: { input: 1, output: 2, cachedInput: 0.5, cacheWrite: 4, cacheWrite1h: 9 },
      },
      "claude/claude-opus-4-5": { pricing: { input: 1, output: 2, cacheWrite: 4 } },
    },
  );

  const turnCost = async (model: string, answer: FakeAnthropicAnswer, stream: boolean): Promise<number> => {
    const conv = await claude.client.conversations.create({});
    answers.push(answer);
    if (stream) {
      await claude.client.responses.stream({ model, input: "hi", conversation: conv.id }).finalResponse();
    } else await claude.client.responses.create({ model, input: "hi", conversation: conv.id });
    const res = await claude.t.app.inject({ method: "GET", url: `/v1/conversations/${conv.id}/usage` });
    assert.equal(res.statusCode, 200);
    return (res.json() as { turns: Array<{ cost_usd: number }> }).turns[0]!.cost_usd;
  };
  const near = (actual: number, expected: number) =>
    assert.ok(Math.abs(actual - expected) < 1e-12, `cost ${actual}, expected ${expected}`);
  const text = [{ type: "text" as const, text: "hi" }];

  for (const stream of [false, true]) {
    const how = stream ? "streamed" : "not streamed";
    test(`the catalog prices 1-hour writes at 2x input, 5-minute ones at cacheWrite (${how})`, async () => {
      near(await turnCost("claude/claude-sonnet-4-5", { content: text, usage: split }, stream), SONNET);
    });

    test(`a configured cacheWrite1h price (${how})`, async () => {
      const cost = await turnCost("claude/claude-haiku-4-5", { content: text, usage: split }, stream);
      near(cost, (100 * 1 + 4_000 * 4 + 6_000 * 9 + 20 * 2) / 1e6);
    });

    test(`configured pricing without cacheWrite1h: 1-hour writes at 2x input (${how})`, async () => {
      const cost = await turnCost("claude/claude-opus-4-5", { content: text, usage: split }, stream);
      near(cost, (100 * 1 + 4_000 * 4 + 6_000 * 2 + 20 * 2) / 1e6);
    });
  }

  const deltas: Array<[string, FakeAnthropicAnswer["deltaUsage"]]> = [
    ["the split repeated", { ...split }],
    ["the split null", { output_tokens: 20, cache_creation: null } as never],
    ["the split's parts null", { output_tokens: 20, cache_creation: { ephemeral_1h_input_tokens: null } }],
  ];
  for (const [name, deltaUsage] of deltas) {
    test(`streamed, message_delta with ${name}: the split of message_start is kept`, async () => {
      const cost = await turnCost(
        "claude/claude-sonnet-4-5",
        { content: text, usage: split, deltaUsage },
        true,
      );
      near(cost, SONNET);
    });
  }

  test("no split reported: every write at the 5-minute rate, as before", async () => {
    const { cache_creation: _, ...total } = split;
    const cost = await turnCost("claude/claude-sonnet-4-5", { content: text, usage: total }, false);
    near(cost, (100 * 3 + 10_000 * 3.75 + 20 * 15) / 1e6);
  });

  test("output tokens unreported (estimated): the cache writes keep their prices", async () => {
    const usage = { ...split, output_tokens: 0 };
    const conv = await claude.client.conversations.create({});
    answers.push({ content: text, usage });
    await claude.client.responses.create({
      model: "claude/claude-sonnet-4-5",
      input: "hi",
      conversation: conv.id,
    });
    const res = await claude.t.app.inject({ method: "GET", url: `/v1/conversations/${conv.id}/usage` });
    const turn = (
      res.json() as { turns: Array<{ cost_usd: number; output_tokens: number; estimated?: true }> }
    ).turns[0]!;
    assert.equal(turn.estimated, true);
    near(turn.cost_usd, (100 * 3 + 4_000 * 3.75 + 6_000 * 6 + turn.output_tokens * 15) / 1e6);
  });
});
