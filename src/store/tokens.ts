import type { JsonObject } from "./types.ts";

/** Counts the tokens of one item body. The context engine plugs in exact tokenizers. */
export type TokenCounter = (content: JsonObject) => number;

/**
 * The store's fallback: about 4 bytes of JSON per token, the usual rule of thumb for English
 * text in BPE tokenizers. Good enough for budgets until a model-specific counter is configured.
 */
export function estimateTokens(content: JsonObject): number {
  return Math.ceil(Buffer.byteLength(JSON.stringify(content)) / 4);
}
