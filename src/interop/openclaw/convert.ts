/**
 * OpenClaw transcript entries → Holdfast items in OpenAI Responses shape:
 * user/custom messages → `message` (role user, `input_text`/`input_image` parts); assistant →
 * `reasoning` per thinking block, `message` (role assistant, `output_text`) per run of text
 * blocks, `function_call` per toolCall; toolResult → `function_call_output`; compaction →
 * a `summary` item recording the seq range it covers; branch_summary and custom_message →
 * user messages (they are context). Bookkeeping entries (model_change, thinking_level_change,
 * session_info, custom) yield no item. Item ids derive from entry ids, so conversion is
 * deterministic and re-imports are recognisable.
 */
import { createSummaryContent } from "../../engine/context/summary.ts";
import type { ItemInput, JsonObject, JsonValue } from "../../store/types.ts";
import { fitContent } from "./fit.ts";
import { ToolPairing } from "./tool-pairing.ts";
import type { TranscriptEntry } from "./transcript.ts";
import { blocksOf, firstKeptIndex, messageOf } from "./tree.ts";

/** Text OpenClaw (pi) puts around a branch summary when it becomes context. */
export const BRANCH_SUMMARY_PREFIX =
  "The following is a summary of a branch that this conversation came back from:\n\n<summary>\n";
export const BRANCH_SUMMARY_SUFFIX = "\n</summary>";

export interface ConvertedPath {
  items: ItemInput[];
  /** Number of items produced up to and including each entry (the seq to fork at after it). */
  seqAfter: Map<string, number>;
  /** Items shrunk to fit `maxItemBytes`. */
  truncated: number;
}

export interface ConvertOptions {
  /** Shrink items whose content JSON is larger than this (see fit.ts). Default: no limit. */
  maxItemBytes?: number;
}

function itemId(entryId: string, k: number): string {
  return `oc_${entryId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100)}_${k}`;
}

function userParts(blocks: Record<string, unknown>[]): JsonValue[] {
  const parts: JsonValue[] = [];
  for (const b of blocks) {
    if (b.type === "text" && typeof b.text === "string") parts.push({ type: "input_text", text: b.text });
    else if (b.type === "image" && typeof b.data === "string") {
      parts.push({
        type: "input_image",
        image_url: `data:${String(b.mimeType ?? "image/png")};base64,${b.data}`,
        detail: "auto",
      });
    }
  }
  return parts;
}

function userMessage(parts: JsonValue[]): JsonObject {
  return { type: "message", role: "user", content: parts };
}

function assistantItems(message: Record<string, unknown>): JsonObject[] {
  const out: JsonObject[] = [];
  let text: JsonObject | null = null;
  for (const b of blocksOf(message)) {
    if (b.type === "text" && typeof b.text === "string") {
      if (!text) {
        text = { type: "message", role: "assistant", status: "completed", content: [] };
        out.push(text);
      }
      (text.content as JsonValue[]).push({ type: "output_text", text: b.text, annotations: [] });
      continue;
    }
    text = null;
    if (b.type === "thinking" && typeof b.thinking === "string") {
      out.push({ type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: b.thinking }] });
    } else if (b.type === "toolCall") {
      out.push({
        type: "function_call",
        call_id: String(b.id),
        name: String(b.name),
        arguments: typeof b.arguments === "string" ? b.arguments : JSON.stringify(b.arguments ?? {}),
        status: "completed",
      });
    }
  }
  if (out.length === 0) out.push({ type: "message", role: "assistant", status: "completed", content: [] });
  return out;
}

function toolOutput(message: Record<string, unknown>): JsonObject {
  const blocks = blocksOf(message);
  const onlyText = blocks.every((b) => b.type === "text");
  const output: JsonValue = onlyText ? blocks.map((b) => String(b.text ?? "")).join("\n") : userParts(blocks);
  return { type: "function_call_output", call_id: String(message.toolCallId), output };
}

function messageItems(entry: TranscriptEntry): JsonObject[] {
  const m = messageOf(entry);
  if (!m) return [];
  switch (m.role) {
    case "assistant":
      return assistantItems(m);
    case "toolResult":
      return [toolOutput(m)];
    default:
      // user, and the custom/hookMessage roles of injected messages: all user-side context.
      return [userMessage(userParts(blocksOf(m)))];
  }
}

/** Converts a path (root → leaf) into items; seq n is `items[n - 1]`. */
export function convertPath(path: TranscriptEntry[], options: ConvertOptions = {}): ConvertedPath {
  const items: ItemInput[] = [];
  let truncated = 0;
  const seqAfter = new Map<string, number>();
  const firstSeqOf = new Map<string, number>();
  const pairing = new ToolPairing();
  for (const entry of path) {
    let bodies: JsonObject[] = [];
    if (entry.type === "message") bodies = messageItems(entry);
    else if (entry.type === "custom_message") {
      const content = entry.data.content;
      const blocks =
        typeof content === "string"
          ? [{ type: "text", text: content }]
          : Array.isArray(content)
            ? (content as Record<string, unknown>[])
            : [];
      bodies = [userMessage(userParts(blocks))];
    } else if (
      entry.type === "branch_summary" &&
      typeof entry.data.summary === "string" &&
      entry.data.summary
    ) {
      bodies = [
        userMessage([
          {
            type: "input_text",
            text: `${BRANCH_SUMMARY_PREFIX}${entry.data.summary}${BRANCH_SUMMARY_SUFFIX}`,
          },
        ]),
      ];
    } else if (entry.type === "compaction" && typeof entry.data.summary === "string") {
      // Settled first, so outputs it adds fall inside the range the summary covers, with their calls.
      pairing.settle(items);
      const kept = path[firstKeptIndex(path, entry)];
      const firstKeptSeq = (kept && firstSeqOf.get(kept.id)) ?? items.length + 1;
      const text = entry.data.summary;
      const toSeq = firstKeptSeq - 1;
      // The context engine's summary shape, so windows put it in place of what it covers. A
      // compaction that kept everything covers nothing: its text stays as a plain context message.
      bodies = [
        toSeq >= 1
          ? {
              ...createSummaryContent({
                summary: { goal: "", decisions: [], facts: [], openItems: [], recentContext: text },
                covers: { fromSeq: 1, toSeq },
                model: "openclaw",
                tokens_before: typeof entry.data.tokensBefore === "number" ? entry.data.tokensBefore : 0,
                tokens_after: 0,
              }),
              source: "openclaw.compaction",
            }
          : { type: "message", role: "user", content: [{ type: "input_text", text }] },
      ];
    }
    const isResult = entry.type === "message" && messageOf(entry)?.role === "toolResult";
    if (!isResult && bodies.length > 0) pairing.settle(items);
    firstSeqOf.set(entry.id, items.length + 1);
    const turnId =
      entry.type === "message" && messageOf(entry)?.role === "assistant" ? `oc:${entry.id}` : undefined;
    bodies.forEach((raw, k) => {
      const { body, hold } = pairing.place(raw, itemId(entry.id, k));
      let content = body;
      if (options.maxItemBytes !== undefined) {
        const fitted = fitContent(body, options.maxItemBytes);
        if (fitted.cutBytes > 0) truncated++;
        content = fitted.content;
      }
      const input: ItemInput = { id: itemId(entry.id, k), content };
      if (turnId) input.turnId = turnId;
      if (hold) pairing.hold(input);
      else items.push(input);
    });
    pairing.release(items);
    seqAfter.set(entry.id, items.length);
  }
  pairing.release(items, true);
  return { items, seqAfter, truncated };
}
