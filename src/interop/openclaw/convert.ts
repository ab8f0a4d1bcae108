/**
 * OpenClaw transcript entries → Holdfast items in OpenAI Responses shape: messages as
 * message-items.ts converts them (user/custom → user `message`; assistant → `reasoning`,
 * `message`, `function_call`; toolResult → `function_call_output`; what cannot be carried is
 * skipped with a warning, never stored as an empty message); compaction →
 * a `summary` item recording the seq range it covers; branch_summary and custom_message →
 * user messages (they are context). Bookkeeping entries (model_change, thinking_level_change,
 * session_info, custom) yield no item. Item ids derive from entry ids, so conversion is
 * deterministic and re-imports are recognisable.
 */
import { createSummaryContent } from "../../engine/context/summary.ts";
import type { ItemInput, JsonObject } from "../../store/types.ts";
import { fitContent } from "./fit.ts";
import { customMessageItems, messageItems, type Note } from "./message-items.ts";
import { ToolPairing } from "./tool-pairing.ts";
import type { TranscriptEntry } from "./transcript.ts";
import { firstKeptIndex, messageOf } from "./tree.ts";
import type { ImportWarning } from "./warnings.ts";

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
  /** Messages skipped and content left out (unknown roles and content types), in path order. */
  warnings: ImportWarning[];
}

export interface ConvertOptions {
  /** Shrink items whose content JSON is larger than this (see fit.ts). Default: no limit. */
  maxItemBytes?: number;
}

/** The id of the k-th item made of entry `entryId`. */
export function itemId(entryId: string, k: number): string {
  return `oc_${entryId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100)}_${k}`;
}

/** Records warnings about `entry` in `warnings`, naming it by its id as written. */
function noteFor(entry: TranscriptEntry, warnings: ImportWarning[]): Note {
  return (code, message) =>
    warnings.push({
      code,
      entryId: typeof entry.data.id === "string" ? entry.data.id : entry.id,
      line: entry.line,
      message,
    });
}

/**
 * The warnings converting `entry` gives, without keeping its items: what a message or custom
 * message holds that no item carries (the other entry types give none; see warnings.ts for those
 * an import leaves in the transcript).
 */
export function entryWarnings(entry: TranscriptEntry): ImportWarning[] {
  const warnings: ImportWarning[] = [];
  if (entry.type === "message") messageItems(messageOf(entry), noteFor(entry, warnings));
  else if (entry.type === "custom_message") customMessageItems(entry.data.content, noteFor(entry, warnings));
  return warnings;
}

/** Converts a path (root → leaf) into items; seq n is `items[n - 1]`. */
export function convertPath(path: TranscriptEntry[], options: ConvertOptions = {}): ConvertedPath {
  const items: ItemInput[] = [];
  let truncated = 0;
  const seqAfter = new Map<string, number>();
  const firstSeqOf = new Map<string, number>();
  const pairing = new ToolPairing();
  const warnings: ImportWarning[] = [];
  for (const entry of path) {
    const note = noteFor(entry, warnings);
    let bodies: JsonObject[] = [];
    if (entry.type === "message") bodies = messageItems(messageOf(entry), note);
    else if (entry.type === "custom_message") bodies = customMessageItems(entry.data.content, note);
    else if (
      entry.type === "branch_summary" &&
      typeof entry.data.summary === "string" &&
      entry.data.summary
    ) {
      bodies = [
        {
          type: "message",
          role: "user",
          content: [
            {
              type: "input_text",
              text: `${BRANCH_SUMMARY_PREFIX}${entry.data.summary}${BRANCH_SUMMARY_SUFFIX}`,
            },
          ],
        },
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
  return { items, seqAfter, truncated, warnings };
}
