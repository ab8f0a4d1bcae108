import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CATALOG_PRICES_DATE, costOf, createModelCatalog, getDefaultCatalog } from "./catalog.ts";

describe("model catalog", () => {
  it("ships current models of every provider family, with valid entries", () => {
    const catalog = getDefaultCatalog();
    for (const id of [
      "gpt-5",
      "gpt-4.1",
      "gpt-4o",
      "o3",
      "o4-mini",
      "claude-opus-4-5",
      "claude-sonnet-4-5",
      "claude-haiku-4-5",
      "gemini-2.5-pro",
      "gemini-2.5-flash",
      "llama-3.3-70b-instruct",
      "qwen3-235b-a22b-instruct-2507",
      "mistral-large-latest",
      "deepseek-chat",
      "gpt-oss-120b",
      "mock",
    ]) {
      const model = catalog.get(id);
      assert.ok(
        model.contextWindow > model.maxOutputTokens || model.contextWindow === model.maxOutputTokens,
        id,
      );
    }
    assert.match(CATALOG_PRICES_DATE, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(catalog.get("gpt-5").tokenizer, "o200k_base");
    assert.equal(catalog.get("gpt-4").tokenizer, "cl100k_base");
    assert.equal(catalog.get("claude-sonnet-4-5").alternation, true);
  });

  it("resolves aliases, provider prefixes and dated snapshots", () => {
    const catalog = getDefaultCatalog();
    assert.equal(catalog.get("claude-sonnet-4-5-20250929").id, "claude-sonnet-4-5");
    assert.equal(catalog.get("openai/gpt-4o").id, "gpt-4o");
    assert.equal(catalog.get("gpt-4o-2024-05-13").id, "gpt-4o");
    assert.equal(catalog.get("meta-llama/Llama-3.3-70B-Instruct").id, "llama-3.3-70b-instruct");
    assert.equal(catalog.find("nope"), null);
    assert.throws(() => catalog.get("nope"), /Unknown model 'nope'/);
  });

  it("merges overrides field by field and adds new models", () => {
    const catalog = createModelCatalog({
      models: {
        "llama-3.3-70b-instruct": {
          prices: { input: 0.59, cachedInput: null, output: 0.79 },
          contextWindow: 32768,
        },
        "my-finetune": {
          provider: "openai",
          contextWindow: 16000,
          maxOutputTokens: 2000,
          tokenizer: "o200k_base",
        },
        "gpt-4o": { prices: { input: 2 } as never },
      },
    });
    const llama = catalog.get("llama-3.3-70b-instruct");
    assert.equal(llama.contextWindow, 32768);
    assert.equal(llama.prices?.output, 0.79);
    assert.equal(llama.maxOutputTokens, 8192);
    assert.equal(catalog.get("my-finetune").prices, null);
    assert.deepEqual(catalog.get("gpt-4o").prices, {
      input: 2,
      cachedInput: 1.25,
      cacheWrite: null,
      cacheWrite1h: null,
      output: 10,
    });
    assert.equal(getDefaultCatalog().get("gpt-4o").prices?.input, 2.5, "the shipped catalog is not changed");
  });

  it("validates overrides with messages naming the field", () => {
    assert.throws(
      () => createModelCatalog({ models: { "gpt-4o": { contextWindow: -1 } } }),
      /models\.gpt-4o\.contextWindow must be a positive integer/,
    );
    assert.throws(
      () =>
        createModelCatalog({
          models: {
            x: { provider: "openai", contextWindow: 10, maxOutputTokens: 5, tokenizer: "bpe" as never },
          },
        }),
      /models\.x\.tokenizer must be one of/,
    );
    assert.throws(
      () =>
        createModelCatalog({
          models: { x: { provider: "openai", maxOutputTokens: 5, tokenizer: "estimate" } },
        }),
      /models\.x\.contextWindow/,
    );
    assert.throws(
      () =>
        createModelCatalog({ models: { "gpt-4o": { prices: { input: -1, output: 1, cachedInput: null } } } }),
      /models\.gpt-4o\.prices\.input/,
    );
    assert.throws(
      () =>
        createModelCatalog({
          models: { "gpt-4o": { prices: { input: 1, cachedInput: null, output: 1, cacheWrite: -2 } } },
        }),
      /models\.gpt-4o\.prices\.cacheWrite must be a non-negative number of USD per 1M tokens or null/,
    );
  });

  it("computes cost with cached input", () => {
    const gpt4o = getDefaultCatalog().get("gpt-4o");
    assert.equal(
      costOf(gpt4o, { inputTokens: 1_000_000, cachedInputTokens: 500_000, outputTokens: 100_000 }),
      1.25 + 0.625 + 1,
    );
    assert.equal(costOf(getDefaultCatalog().get("gpt-oss-20b"), { inputTokens: 10, outputTokens: 10 }), 0);
  });

  it("prices 1-hour cache writes at cacheWrite1h, 2x input when unset", () => {
    const usage = {
      inputTokens: 1_000_000,
      cacheWriteTokens: 600_000,
      cacheWrite1hTokens: 400_000,
      outputTokens: 0,
    };
    // claude-sonnet-4-5: input 3, 5-minute write 3.75, 1-hour write 6 (derived).
    const sonnet = getDefaultCatalog().get("claude-sonnet-4-5");
    const near = (actual: number, expected: number) =>
      assert.ok(Math.abs(actual - expected) < 1e-9, `${actual}`);
    near(costOf(sonnet, usage), 0.4 * 3 + 0.2 * 3.75 + 0.4 * 6);
    const priced = createModelCatalog({
      models: { "claude-sonnet-4-5": { prices: { cacheWrite1h: 5 } as never } },
    });
    near(costOf(priced.get("claude-sonnet-4-5"), usage), 0.4 * 3 + 0.2 * 3.75 + 0.4 * 5);
    assert.throws(
      () =>
        createModelCatalog({ models: { "claude-sonnet-4-5": { prices: { cacheWrite1h: "2x" } as never } } }),
      /models\.claude-sonnet-4-5\.prices\.cacheWrite1h must be a non-negative number/,
    );
  });
});
