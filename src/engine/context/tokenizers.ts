/**
 * Text tokenizers. OpenAI encodings come from gpt-tokenizer's per-encoding entry points, loaded
 * synchronously on first use (a `TokenCounter` is synchronous) so a process only pays for the
 * encodings its models need (~150 ms and ~10 MB each). Other providers use the calibrated
 * estimate of estimate.ts scaled by the model's factor.
 */
import { createRequire } from "node:module";
import { estimateTextTokens } from "./estimate.ts";

/** Tokenizers the catalog can name. */
export const TOKENIZERS = ["o200k_base", "cl100k_base", "estimate"] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];

/** Counts the tokens of a plain string. */
export type TextCounter = (text: string) => number;

type Encoding = { countTokens: (text: string, options?: { disallowedSpecial?: Set<string> }) => number };

const require = createRequire(import.meta.url);
const loaded = new Map<string, Encoding>();
// Special-token strings in user text are plain text: never refuse to count them.
const PLAIN_TEXT = Object.freeze({ disallowedSpecial: new Set<string>() });

function loadEncoding(name: "o200k_base" | "cl100k_base"): Encoding {
  let encoding = loaded.get(name);
  if (!encoding) {
    // Bounded: at most one entry per encoding name in TOKENIZERS.
    encoding =
      name === "o200k_base"
        ? (require("gpt-tokenizer/cjs/encoding/o200k_base") as Encoding)
        : (require("gpt-tokenizer/cjs/encoding/cl100k_base") as Encoding);
    loaded.set(name, encoding);
  }
  return encoding;
}

/**
 * Texts longer than this (UTF-16 code units) are estimated even with an exact tokenizer: BPE on
 * novel text can run below 1 MB/s (random CJK), and one hostile item must not stall a process.
 */
export const DEFAULT_MAX_EXACT_CHARS = 262_144;

/**
 * A text counter for a tokenizer. `factor` scales the estimate (e.g. 1.2 for a tokenizer that
 * yields 20% more tokens than o200k on the same text) and is ignored by exact encodings.
 */
export function createTextCounter(
  tokenizer: TokenizerName,
  factor = 1,
  maxExactChars = DEFAULT_MAX_EXACT_CHARS,
): TextCounter {
  const estimate: TextCounter = (text) =>
    text.length === 0 ? 0 : Math.ceil(estimateTextTokens(text) * factor);
  if (tokenizer === "estimate") return estimate;
  const encoding = loadEncoding(tokenizer);
  return (text) => {
    if (text.length === 0) return 0;
    // Over the limit: the calibrated estimate of o200k (within a few percent on real-looking text).
    if (text.length > maxExactChars) return Math.ceil(estimateTextTokens(text));
    return encoding.countTokens(text, PLAIN_TEXT);
  };
}
