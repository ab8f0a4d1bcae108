/** Estimating the unreported side of a turn's usage keeps what the upstream did report. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { getDefaultCatalog } from "../context/catalog.ts";
import type { TurnResult } from "../providers/types.ts";
import { estimateUsage, usageMissing } from "./usage-estimate.ts";

test("a stream cut after the input was reported keeps its cache writes and cached tokens", () => {
  // Anthropic reports the input (cache writes included) when the stream starts and the output at
  // its end: a cut in between leaves output 0 with the input side known.
  const result: TurnResult = {
    id: "",
    model: "claude-sonnet-4-5",
    output: [
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Partial answer" }] },
    ],
    usage: { input_tokens: 12_000, output_tokens: 0, cached_tokens: 1_000, cache_write_tokens: 10_000 },
    status: "incomplete",
    finish_reason: "error",
  } as TurnResult;
  assert.equal(usageMissing(result), true);
  const usage = estimateUsage(result, getDefaultCatalog().get("claude-sonnet-4-5"), null);
  assert.equal(usage.input_tokens, 12_000);
  assert.equal(usage.cached_tokens, 1_000);
  assert.equal(usage.cache_write_tokens, 10_000);
  assert.ok(usage.output_tokens > 0);
  assert.equal(usage.estimated, true);
});
