/**
 * The dashboard's transcript showed a reasoning item by its summary only, so the readable
 * reasoning of a Chat upstream (`content: [{type: "reasoning_text"}]`, no summary) showed empty.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Item, JsonObject } from "../store/types.ts";
import { toEntry } from "./transcript.ts";

function reasoning(content: JsonObject): Item {
  return {
    seq: 1,
    id: "rs_1",
    type: "reasoning",
    role: null,
    status: null,
    content: { type: "reasoning", ...content },
    tokens: 1,
    bytes: 0,
    turnId: null,
    createdAt: 0,
  };
}

test("a reasoning item shows its summary, else its reasoning text", () => {
  const text = (content: JsonObject) => toEntry(reasoning(content)).text;
  assert.equal(
    text({ summary: [], content: [{ type: "reasoning_text", text: "greet back" }] }),
    "greet back",
  );
  assert.equal(
    text({
      summary: [{ type: "summary_text", text: "short" }],
      content: [{ type: "reasoning_text", text: "long" }],
    }),
    "short",
  );
  assert.equal(text({ summary: [], encrypted_content: "enc" }), "");
});
