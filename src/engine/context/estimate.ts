/**
 * A calibrated token estimate for tokenizers we cannot run offline (Anthropic, Google, most
 * open-weight models). One pass over the UTF-16 code units collects character classes; a
 * linear model fitted by least squares against o200k_base on generated prose, code, JSON, logs,
 * markdown and five non-English languages turns them into tokens. Models whose tokenizer is
 * known to be less or more compact than o200k scale it by their catalog `tokenFactor`.
 * Measured error: see docs/context-engine.md (and `npm run eval:context`).
 */

/** Fitted weights (tokens per feature unit) — see docs/context-engine.md for the fit. */
export const ESTIMATE_WEIGHTS = Object.freeze({
  word: 0.5835,
  letter: 0.0882,
  digit: 0.7112,
  punct: 0.4459,
  newline: 0.9472,
  indent: 0.2538,
  cjk: 1.0206,
  otherNonAscii: 0.3113,
});

export interface TextFeatures {
  /** Runs of ASCII letters. */
  word: number;
  /** ASCII letters. */
  letter: number;
  digit: number;
  /** ASCII punctuation and symbols. */
  punct: number;
  newline: number;
  /** Whitespace other than a single space between words (indentation, runs). */
  indent: number;
  /** Han, kana and Hangul characters. */
  cjk: number;
  /** Other non-ASCII characters (accented Latin, Cyrillic, Greek, emoji halves…). */
  otherNonAscii: number;
}

export function textFeatures(text: string): TextFeatures {
  let word = 0;
  let letter = 0;
  let digit = 0;
  let punct = 0;
  let newline = 0;
  let indent = 0;
  let cjk = 0;
  let otherNonAscii = 0;
  let inWord = false;
  let prevSpace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isLetter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (isLetter) {
      letter++;
      if (!inWord) word++;
      inWord = true;
      prevSpace = false;
      continue;
    }
    inWord = false;
    if (c === 32) {
      if (prevSpace) indent++;
      prevSpace = true;
      continue;
    }
    prevSpace = false;
    if (c === 10) newline++;
    else if (c === 9 || c === 13) indent++;
    else if (c >= 48 && c <= 57) digit++;
    else if (c < 128) punct++;
    else if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af))
      cjk++;
    else otherNonAscii++;
  }
  return { word, letter, digit, punct, newline, indent, cjk, otherNonAscii };
}

/** Estimated o200k_base tokens of `text` (not rounded). */
export function estimateTextTokens(text: string): number {
  const f = textFeatures(text);
  const w = ESTIMATE_WEIGHTS;
  return (
    f.word * w.word +
    f.letter * w.letter +
    f.digit * w.digit +
    f.punct * w.punct +
    f.newline * w.newline +
    f.indent * w.indent +
    f.cjk * w.cjk +
    f.otherNonAscii * w.otherNonAscii
  );
}
