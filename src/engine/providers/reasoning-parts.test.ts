/**
 * A stream cut while a Responses upstream's reasoning was streaming: the partial result (committed
 * as `incomplete`) keeps the summary and text streamed so far, in their parts, and the item as it
 * was announced otherwise (its upstream id marker, its encrypted content).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StreamTracker } from "./output.ts";
import type { TurnEvent } from "./types.ts";

const announced = {
  type: "reasoning",
  id: "rs_up-hf0123456789abcdef",
  summary: [],
  encrypted_content: "enc",
  holdfast: { upstream_id: "rs_up" },
};

function summary(index: number, delta: string): TurnEvent {
  return {
    type: "reasoning_summary_delta",
    output_index: 0,
    item_id: announced.id,
    summary_index: index,
    delta,
  };
}

test("cut mid-summary: the partial item holds each summary part streamed so far", () => {
  const tracker = new StreamTracker();
  for (const event of [
    { type: "item_added", output_index: 0, item: announced } as TurnEvent,
    summary(0, "First "),
    summary(0, "part."),
    summary(1, "Sec"),
  ])
    tracker.push(event);
  assert.deepEqual(tracker.partial("m").output, [
    {
      ...announced,
      summary: [
        { type: "summary_text", text: "First part." },
        { type: "summary_text", text: "Sec" },
      ],
      status: "incomplete",
    },
  ]);
});

test("cut mid-text: readable reasoning parts by content index, the summary as announced", () => {
  const tracker = new StreamTracker();
  tracker.push({ type: "item_added", output_index: 0, item: { ...announced, content: [] } });
  tracker.push({
    type: "reasoning_delta",
    output_index: 0,
    item_id: announced.id,
    content_index: 0,
    delta: "a",
  });
  tracker.push({ type: "reasoning_delta", output_index: 0, item_id: announced.id, delta: "b" });
  assert.deepEqual(tracker.partial("m").output, [
    { ...announced, content: [{ type: "reasoning_text", text: "ab" }], status: "incomplete" },
  ]);
});
