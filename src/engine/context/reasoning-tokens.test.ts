/**
 * A reasoning item's readable text (`content`, `reasoning_text` parts) was not counted: only its
 * summary was, so a window holding long readable reasoning (gpt-oss, DeepSeek, vLLM…) was larger
 * than counted, and a turn whose upstream reports no usage had its reasoning left out of the
 * estimated output. Encrypted content stays uncounted (see docs/context-engine.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createStore } from "../../store/create-store.ts";
import type { JsonObject } from "../../store/types.ts";
import { estimateUsage } from "../turn/usage-estimate.ts";
import { resolveModel } from "./catalog.ts";
import { createModelTextCounter, createTokenCounter } from "./token-counter.ts";

const MODEL = "gpt-4o";
const THOUGHT = "Let me weigh each option against the constraints one by one. ".repeat(40);
const count = createTokenCounter(MODEL);
const text = createModelTextCounter(MODEL);

function reasoning(extra: JsonObject = {}): JsonObject {
  return {
    type: "reasoning",
    summary: [{ type: "summary_text", text: "Weighed the options." }],
    content: [{ type: "reasoning_text", text: THOUGHT }],
    ...extra,
  };
}

test("a reasoning item costs its summary and its reasoning text; encrypted content adds nothing", () => {
  const summaryOnly = count({ type: "reasoning", summary: reasoning().summary as JsonObject[] });
  assert.equal(count(reasoning()), summaryOnly + text(THOUGHT));
  assert.equal(count(reasoning({ encrypted_content: "gAAAA".repeat(400) })), count(reasoning()));
});

test("window fitting counts the reasoning text: an old message no longer fits", async () => {
  const store = await createStore({ url: "memory:", countTokens: count });
  const session = await store.create("t", {
    items: [
      { content: { type: "message", role: "user", content: [{ type: "input_text", text: "Which one?" }] } },
      { content: reasoning() },
      { content: { type: "message", role: "assistant", content: [{ type: "output_text", text: "B." }] } },
    ],
  });
  const items = await store.readItems("t", session.id);
  assert.ok((items[1]?.tokens ?? 0) > text(THOUGHT), "the stored count holds the reasoning text");
  // Room for the reasoning and the answer only.
  const maxTokens = (items[1]?.tokens ?? 0) + (items[2]?.tokens ?? 0);
  const window = await store.readWindow("t", session.id, { maxTokens });
  assert.ok(window.tokens > text(THOUGHT));
  assert.equal(window.truncated, true);
  assert.deepEqual(
    window.items.map((item) => item.type),
    ["reasoning", "message"],
  );
  await store.close();
});

test("an output estimated for want of usage includes the reasoning the model wrote", () => {
  const usage = estimateUsage(
    {
      id: "r",
      model: MODEL,
      output: [reasoning() as never],
      usage: { input_tokens: 0, output_tokens: 0, cached_tokens: 0 },
      status: "completed",
      finish_reason: "stop",
    },
    resolveModel(MODEL),
    null,
  );
  assert.ok(usage.output_tokens > text(THOUGHT));
});
