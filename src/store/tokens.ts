import { MEDIA_COSTS, mediaPartTokens, opaquePayloads } from "./media-tokens.ts";
import type { JsonObject, JsonValue } from "./types.ts";
import { isPlainObject } from "./validate.ts";

/** Counts the tokens of one item body. The context engine plugs in exact tokenizers. */
export type TokenCounter = (content: JsonObject) => number;

/** Part types that are text: the byte estimate covers them, nothing to look into. */
export const TEXT_PART_TYPES: ReadonlySet<string> = new Set([
  "input_text",
  "output_text",
  "text",
  "refusal",
  "reasoning_text",
  "summary_text",
]);

/**
 * The store's fallback: about 4 bytes of JSON per token, the usual rule of thumb for English
 * text in BPE tokenizers, except for media parts (images, files, audio), which cost what the
 * context engine charges for them (OpenAI rules: see media-tokens.ts) instead of their base64:
 * a 700 KB photo is ~765 tokens, not ~179,000. Good enough for budgets until a model-specific
 * counter is configured.
 */
export function estimateTokens(content: JsonObject): number {
  return estimateTokensOfJson(content, Buffer.byteLength(JSON.stringify(content)));
}

/**
 * The same estimate for callers that already hold the UTF-8 size of the item's JSON (the write
 * path serializes every item once): that size / 4, with the strings of every media part in
 * `content` or `output` (data URLs, URLs, `file_data`, audio data) replaced by the part's cost.
 */
export function estimateTokensOfJson(content: JsonObject, bytes: number): number {
  const media: MediaTally = { bytes: 0, tokens: 0 };
  tallyItem(content, media);
  return bytesToTokens(Math.max(0, bytes - media.bytes)) + Math.ceil(media.tokens);
}

/**
 * What the media parts of a list of items (Responses `input` items or Chat `messages`) weigh in
 * their JSON and cost instead: for an estimate made from a request's size before it is parsed
 * into items (the rate limiter's reservation), so a photo reserves its cost, not its base64.
 */
export function mediaOfItems(items: JsonValue | undefined): MediaTally {
  const media: MediaTally = { bytes: 0, tokens: 0 };
  if (!Array.isArray(items)) return media;
  for (const item of items) {
    if (isPlainObject(item)) tallyItem(item, media);
  }
  return media;
}

/** Adds the media parts of one item's `content` and `output` to `tally`. */
function tallyItem(item: JsonObject, tally: MediaTally): void {
  tallyMedia(item.content, tally);
  tallyMedia(item.output, tally);
}

/** About 4 bytes per token. */
function bytesToTokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}

export interface MediaTally {
  /** UTF-8 bytes of the strings left out of the byte estimate. */
  bytes: number;
  /** What those parts cost instead. */
  tokens: number;
}

const textTokens = (text: string): number => Buffer.byteLength(text) / 4;

/** Adds the media parts of a content array to `tally`; text parts are left to the byte estimate. */
function tallyMedia(parts: JsonValue | undefined, tally: MediaTally): void {
  if (!Array.isArray(parts)) return;
  for (const part of parts) {
    if (!isPlainObject(part)) continue;
    const type = part.type;
    if (typeof type === "string" && TEXT_PART_TYPES.has(type)) continue;
    const body = part as JsonObject;
    // The store prices images as OpenAI does: it knows no model; the gateway passes its own counter.
    const cost = mediaPartTokens(body, "openai", textTokens);
    if (cost !== null) {
      tally.bytes += stringBytes(body);
      tally.tokens += cost;
    } else if (type === "document" && isPlainObject(body.source)) {
      // A document holding text or content parts: its text is in the byte estimate already.
      tallyMedia(body.source.content as JsonValue | undefined, tally);
    } else {
      // An unknown part type: base64 payloads priced as a file each, as the engine does.
      const opaque = opaquePayloads(body);
      tally.bytes += opaque.bytes;
      tally.tokens += opaque.count * MEDIA_COSTS.fileUnknown;
    }
  }
}

/** UTF-8 bytes of every string in a value (keys excluded). */
function stringBytes(value: JsonValue): number {
  if (typeof value === "string") return Buffer.byteLength(value);
  let sum = 0;
  if (Array.isArray(value)) for (const v of value) sum += stringBytes(v);
  else if (isPlainObject(value)) for (const v of Object.values(value)) sum += stringBytes(v as JsonValue);
  return sum;
}
