/**
 * Window-only pruning of tool outputs (storage is never touched): soft-trim keeps the head and
 * tail of a large output around a marker, hard-clear replaces an output with a short
 * placeholder. Outputs carrying images or files are never pruned, so image pairing stays
 * intact. Costs are estimated from the item's stored count, pro rata to the text kept.
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import type { Item, JsonObject } from "../../store/types.ts";
import { isObject, isOutput } from "./items.ts";

/** One pruning decision, reported for dashboards and metrics. */
export interface PruningReport {
  seq: number;
  itemId: string;
  action: "soft_trim" | "hard_clear";
  tokensSaved: number;
}

export interface PruningOptions {
  /** Enable pruning. Default true. */
  enabled?: boolean;
  /** Outputs at least this large (tokens) are soft-trimmed. Default 1000. */
  softTrimMinTokens?: number;
  /** Tokens kept from the start of a soft-trimmed output. Default 300. */
  keepHeadTokens?: number;
  /** Tokens kept from the end of a soft-trimmed output. Default 200. */
  keepTailTokens?: number;
  /** The last N assistant turns (a model reply or a tool-call round) are never pruned. Default 3. */
  keepRecentTurns?: number;
}

export type ResolvedPruning = Required<PruningOptions>;

export const PRUNING_DEFAULTS: ResolvedPruning = Object.freeze({
  enabled: true,
  softTrimMinTokens: 1000,
  keepHeadTokens: 300,
  keepTailTokens: 200,
  keepRecentTurns: 3,
});

/** Tokens charged for a hard-cleared output (placeholder text plus framing). */
export const CLEARED_TOKENS = 32;
/** Tokens charged for the soft-trim marker (plus rounding slack). */
const MARKER_TOKENS = 20;

/** Text of an output that pruning may rewrite: a string, or text-only parts. Null otherwise. */
export function prunableText(item: Item): string | null {
  if (!isOutput(item)) return null;
  const output = item.content.output;
  if (typeof output === "string") return output;
  if (!Array.isArray(output)) return null;
  let text = "";
  for (const part of output) {
    if (typeof part === "string") text += part;
    else if (
      isObject(part) &&
      (part.type === "input_text" || part.type === "output_text") &&
      typeof part.text === "string"
    ) {
      text += part.text;
    } else return null; // images, files or unknown parts: never pruned
  }
  return text;
}

function keptChars(item: Item, text: string, o: ResolvedPruning): { head: number; tail: number } | null {
  if (item.tokens < o.softTrimMinTokens || text.length === 0) return null;
  const charsPerToken = text.length / item.tokens;
  const head = Math.floor(o.keepHeadTokens * charsPerToken);
  const tail = Math.floor(o.keepTailTokens * charsPerToken);
  return head + tail < text.length ? { head, tail } : null;
}

/** Estimated tokens of the soft-trimmed item, or its full tokens when it is not trimmable. */
export function softTrimTokens(item: Item, o: ResolvedPruning): number {
  const text = prunableText(item);
  if (text === null) return item.tokens;
  const kept = keptChars(item, text, o);
  if (kept === null) return item.tokens;
  const tokens = Math.ceil((item.tokens * (kept.head + kept.tail)) / text.length) + MARKER_TOKENS;
  return Math.min(item.tokens, tokens);
}

/** Estimated tokens of the hard-cleared item, or its full tokens when it is not prunable. */
export function hardClearTokens(item: Item): number {
  if (prunableText(item) === null) return item.tokens;
  return Math.min(item.tokens, CLEARED_TOKENS);
}

function withOutput(item: Item, output: string, tokens: number): Item {
  const content: JsonObject = { ...item.content, output };
  return { ...item, content, tokens };
}

/** A copy of `item` whose output keeps its head and tail around a marker. */
export function softTrim(item: Item, o: ResolvedPruning): Item {
  const text = prunableText(item);
  const kept = text === null ? null : keptChars(item, text, o);
  if (text === null || kept === null) return item;
  const tokens = softTrimTokens(item, o);
  const marker = `\n…[holdfast: trimmed ${item.tokens - tokens} tokens]…\n`;
  return withOutput(item, text.slice(0, kept.head) + marker + text.slice(text.length - kept.tail), tokens);
}

/** A copy of `item` whose output is replaced by a short placeholder. */
export function hardClear(item: Item): Item {
  if (prunableText(item) === null) return item;
  return withOutput(
    item,
    `[holdfast: tool output cleared to fit the context window (${item.tokens} tokens); call the tool again if you need it]`,
    hardClearTokens(item),
  );
}

/** Resolves and validates pruning options (messages name the option). */
export function resolvePruning(options: PruningOptions | boolean | undefined): ResolvedPruning {
  if (options === undefined || options === true) return PRUNING_DEFAULTS;
  if (options === false) return { ...PRUNING_DEFAULTS, enabled: false };
  const resolved = { ...PRUNING_DEFAULTS, ...options };
  for (const key of ["softTrimMinTokens", "keepHeadTokens", "keepTailTokens", "keepRecentTurns"] as const) {
    const v = resolved[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new InvalidArgumentError(`pruning.${key} must be a non-negative integer.`, {
        param: `pruning.${key}`,
      });
    }
  }
  return Object.freeze(resolved);
}
