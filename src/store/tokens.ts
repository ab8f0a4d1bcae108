import type { JsonObject } from "./types.ts";

/** Counts the tokens of one item body. The context engine plugs in exact tokenizers. */
export type TokenCounter = (content: JsonObject) => number;

/**
 * The store's fallback: about 4 bytes of JSON per token, the usual rule of thumb for English
 * text in BPE tokenizers. Good enough for budgets until a model-specific counter is configured.
 */
export function estimateTokens(content: JsonObject): number {
  return bytesToTokens(Buffer.byteLength(JSON.stringify(content)));
}

/** The same estimate from the UTF-8 size of the item's JSON, for callers that already have it. */
export function bytesToTokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}
