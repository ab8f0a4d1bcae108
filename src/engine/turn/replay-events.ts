/**
 * A stored response replayed as a stream (a retry with the same `Idempotency-Key`): its output
 * items as the provider events that produced them, so the replay carries the content too. A chat
 * client reads the answer only from deltas, and a Responses client that renders
 * `response.output_text.delta` would otherwise get an empty answer on its retry.
 */

import type { JsonObject } from "../../store/types.ts";
import { contentText } from "../providers/output.ts";
import type { OutputItem, TurnEvent } from "../providers/types.ts";

/** `item_added`, one delta with the whole text or arguments, and `item_done`, per stored output item. */
export function replayEvents(output: readonly JsonObject[]): TurnEvent[] {
  return output.flatMap((stored, index): TurnEvent[] => {
    const item = stored as unknown as OutputItem;
    const id = String(item.id ?? "");
    if (item.type === "message") {
      return [
        { type: "item_added", output_index: index, item: { ...item, status: "in_progress", content: [] } },
        ...messageDeltas(item.content, index, id),
        { type: "item_done", output_index: index, item },
      ];
    }
    if (item.type === "function_call") {
      const args = String(item.arguments ?? "");
      const callId = String(item.call_id ?? "");
      return [
        { type: "item_added", output_index: index, item: { ...item, status: "in_progress", arguments: "" } },
        ...(args === ""
          ? []
          : [
              {
                type: "function_call_arguments_delta" as const,
                output_index: index,
                item_id: id,
                call_id: callId,
                delta: args,
              },
            ]),
        { type: "item_done", output_index: index, item },
      ];
    }
    const reasoning = item.type === "reasoning" ? reasoningDeltas(stored, index, id) : [];
    if (reasoning.length > 0) {
      const announced = {
        ...item,
        status: "in_progress",
        summary: [],
        ...(Array.isArray(stored.content) ? { content: [] } : {}),
      };
      return [
        { type: "item_added", output_index: index, item: announced },
        ...reasoning,
        { type: "item_done", output_index: index, item },
      ];
    }
    return [
      { type: "item_added", output_index: index, item },
      { type: "item_done", output_index: index, item },
    ];
  });
}

/**
 * One delta per part of a reasoning item, summary parts then `reasoning_text` parts, each at its
 * own index (an empty part too, so the indexes stay those of the stored item).
 */
function reasoningDeltas(item: JsonObject, index: number, id: string): TurnEvent[] {
  const texts = (parts: unknown): string[] =>
    Array.isArray(parts)
      ? (parts as JsonObject[]).map((p) => (typeof p.text === "string" ? p.text : ""))
      : [];
  return [
    ...texts(item.summary).map(
      (delta, summary): TurnEvent => ({
        type: "reasoning_summary_delta",
        output_index: index,
        item_id: id,
        summary_index: summary,
        delta,
      }),
    ),
    ...texts(item.content).map(
      (delta, content): TurnEvent => ({
        type: "reasoning_delta",
        output_index: index,
        item_id: id,
        content_index: content,
        delta,
      }),
    ),
  ];
}

/** One delta per non-empty part: text as `text_delta`, a refusal as `refusal_delta`. */
function messageDeltas(content: unknown, index: number, id: string): TurnEvent[] {
  const parts = Array.isArray(content) ? (content as JsonObject[]) : [{ text: contentText(content) }];
  return parts.flatMap((part): TurnEvent[] => {
    const refusal = typeof part.refusal === "string" && typeof part.text !== "string";
    const delta = refusal ? String(part.refusal) : typeof part.text === "string" ? part.text : "";
    if (delta === "") return [];
    return [{ type: refusal ? "refusal_delta" : "text_delta", output_index: index, item_id: id, delta }];
  });
}
