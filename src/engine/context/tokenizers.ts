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
  const exact: TextCounter = (text) => encoding.countTokens(text, PLAIN_TEXT);
  return (text) => {
    if (text.length === 0) return 0;
    // Over the limit: the calibrated estimate of o200k (within a few percent on real-looking text).
    if (text.length > maxExactChars) return Math.ceil(estimateTextTokens(text));
    if (text.length > MAX_RUN && hasLongRun(text)) return countInPieces(text, exact);
    return exact(text);
  };
}

/**
 * BPE time grows with the square of one pre-token's length, and a pre-token is a whole run of
 * letters, of symbols or of whitespace: 262,144 × "a" took 43 s to count, as many "漢" 270 s.
 * A text with a run this long is counted in pieces of at most this many characters.
 */
export const MAX_RUN = 256;

/** JavaScript's `\s` (what the encodings' pre-tokenizer splits on). */
function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** `\r`, `\n` and `/`: the tail a symbol pre-token may carry (`[^\s\p{L}\p{N}]+[\r\n/]*`). */
function isTail(c: number): boolean {
  return c === 10 || c === 13 || c === 47;
}

/** Length (capped at MAX_RUN) of the run around `i` of characters on the same side of `test`. */
function runAround(text: string, i: number, test: (c: number) => boolean): number {
  const side = test(text.charCodeAt(i));
  let n = 1;
  for (let j = i - 1; j >= 0 && n < MAX_RUN && test(text.charCodeAt(j)) === side; j--) n++;
  for (let j = i + 1; j < text.length && n < MAX_RUN && test(text.charCodeAt(j)) === side; j++) n++;
  return n;
}

/**
 * Whether `text` has MAX_RUN whitespace, non-whitespace or tail characters in a row. Every such
 * run covers one of the sampled positions (one per MAX_RUN characters), so ordinary text costs a
 * few character reads per sample.
 */
function hasLongRun(text: string): boolean {
  for (let i = MAX_RUN - 1; i < text.length; i += MAX_RUN) {
    if (runAround(text, i, isSpace) >= MAX_RUN) return true;
    if (isTail(text.charCodeAt(i)) && runAround(text, i, isTail) >= MAX_RUN) return true;
  }
  return false;
}

/**
 * Counts `text` in pieces of at most MAX_RUN characters. A piece ends before a space that follows
 * a non-space (always a pre-token boundary, so the count stays exact) when there is one, else
 * inside the long run (a token may be split in two there: at most one extra token per cut).
 */
function countInPieces(text: string, count: TextCounter): number {
  let sum = 0;
  let start = 0;
  while (text.length - start > MAX_RUN) {
    let cut = text.lastIndexOf(" ", start + MAX_RUN);
    while (cut > start && isSpace(text.charCodeAt(cut - 1))) cut = text.lastIndexOf(" ", cut - 1);
    if (cut <= start) {
      cut = start + MAX_RUN;
      const c = text.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--; // never split a surrogate pair
    }
    sum += count(text.slice(start, cut));
    start = cut;
  }
  return sum + count(text.slice(start));
}
