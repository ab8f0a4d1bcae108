/**
 * Per-item token accounting. `createTokenCounter(model)` returns the `(content) => number`
 * function the store core accepts as `countTokens`, so counts are computed once, at write time,
 * with the model's tokenizer. An item costs its text (tokenized), its media (media.ts rules) and
 * a fixed framing overhead (role markers, call ids).
 */

import {
  type ImageFamily,
  isTextSource,
  mediaPartTokens,
  opaquePartTokens,
} from "../../store/media-tokens.ts";
import type { TokenCounter } from "../../store/tokens.ts";
import type { JsonObject, JsonValue } from "../../store/types.ts";
import { type ModelCatalog, type ModelInfo, resolveModel } from "./catalog.ts";
import { isObject } from "./items.ts";
import { readCovers, readSummary, renderSummary } from "./summary.ts";
import { createTextCounter, type TextCounter } from "./tokenizers.ts";

/** Extra framing of a function call (name, call id, JSON wrapper) beyond its text. */
const CALL_OVERHEAD = 8;

export interface TokenCounterOptions {
  /** Catalog to resolve a model id against. Default: the shipped catalog. */
  catalog?: ModelCatalog;
  /** Longer texts are estimated even with an exact tokenizer. Default 262,144 characters. */
  maxExactChars?: number;
}

interface Counting {
  text: TextCounter;
  images: ImageFamily;
}

/**
 * One content part, in the shapes of the three APIs Holdfast stores: Responses (`input_text`,
 * `input_image`, …), Chat Completions (`text`, `image_url`, `file`, `input_audio`) and Anthropic
 * (`image`, `document`). Text parts come first: they are the hot path. Media are priced by the
 * store's shared rules (store/media-tokens.ts), which the store's default estimate uses too.
 */
function partTokens(part: JsonValue, c: Counting): number {
  if (typeof part === "string") return c.text(part);
  if (!isObject(part)) return 0;
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
    case "refusal":
    case "summary_text":
    case "reasoning_text": {
      const text = part.text ?? part.refusal;
      return typeof text === "string" ? c.text(text) : 0;
    }
    case "document":
      if (isObject(part.source) && isTextSource(part.source)) return textSourceTokens(part.source, c);
      break;
  }
  return mediaPartTokens(part, c.images, c.text) ?? opaquePartTokens(part, c.text);
}

/** An Anthropic document whose source is text, or content parts: counted as what it holds. */
function textSourceTokens(source: JsonObject, c: Counting): number {
  if (source.type === "text" && typeof source.data === "string") return c.text(source.data);
  return contentTokens(source.content, c);
}

function contentTokens(value: JsonValue | undefined, c: Counting): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "string") return c.text(value);
  if (Array.isArray(value)) {
    let sum = 0;
    for (const part of value) sum += partTokens(part, c);
    return sum;
  }
  return c.text(JSON.stringify(value));
}

/** Tokens of one item body under a text counter, image family and per-item overhead. */
export function countItemTokens(content: JsonObject, c: Counting, overhead: number): number {
  switch (content.type) {
    case "message":
      return overhead + contentTokens(content.content, c);
    case "function_call":
    case "custom_tool_call":
      return (
        overhead +
        CALL_OVERHEAD +
        contentTokens(content.name, c) +
        contentTokens(content.arguments ?? content.input, c)
      );
    case "function_call_output":
    case "custom_tool_call_output":
    case "computer_call_output":
    case "local_shell_call_output":
      return overhead + CALL_OVERHEAD + contentTokens(content.output, c);
    case "reasoning":
      return overhead + reasoningTokens(content, c);
    case "summary":
      return overhead + c.text(renderSummary(readSummary(content), readCovers(content) ?? undefined));
    default: {
      const { type: _type, ...rest } = content;
      return overhead + c.text(JSON.stringify(rest));
    }
  }
}

/**
 * A reasoning item's readable text: its `summary` parts and its `content` (`reasoning_text`
 * parts: the model's reasoning as text, from gpt-oss, DeepSeek, vLLM… — often far longer than a
 * summary; it was left uncounted, so a window holding such items was larger than counted, and an
 * estimated output left out the reasoning the model wrote). `encrypted_content` is not counted:
 * it is the same reasoning sealed, its size says little about its tokens (ciphertext, base64,
 * framing), and OpenAI's reported input tokens do not grow with an earlier turn's blobs — counting
 * their bytes overstated windows by as much as the blobs (about 1.5 KB each).
 */
function reasoningTokens(content: JsonObject, c: Counting): number {
  const { summary, content: parts } = content;
  return (
    (Array.isArray(summary) ? contentTokens(summary, c) : 0) +
    (Array.isArray(parts) ? contentTokens(parts, c) : 0)
  );
}

/**
 * A store-compatible token counter for a model (id, alias or catalog entry): exact with
 * o200k_base/cl100k_base, the calibrated estimate × `tokenFactor` otherwise.
 */
export function createTokenCounter(
  model: string | ModelInfo,
  options: TokenCounterOptions = {},
): TokenCounter {
  const info = resolveModel(model, options.catalog);
  const counting: Counting = {
    text: createTextCounter(info.tokenizer, info.tokenFactor, options.maxExactChars),
    images: info.imageFamily,
  };
  const overhead = info.itemOverhead;
  return (content) => countItemTokens(content, counting, overhead);
}

/** Counts the tokens of a plain string for a model. */
export function createModelTextCounter(
  model: string | ModelInfo,
  options: TokenCounterOptions = {},
): TextCounter {
  const info = resolveModel(model, options.catalog);
  return createTextCounter(info.tokenizer, info.tokenFactor, options.maxExactChars);
}
