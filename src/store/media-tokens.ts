/**
 * Token rules for images, files and audio, per provider family, shared by the context engine's
 * model counters and the store's default estimate (tokens.ts) so both price a media part alike.
 * Pure and dependency-free: the store must stay light. Image dimensions come from optional
 * `width`/`height` fields on the part or from the header of a base64 `data:` URL (PNG, GIF,
 * JPEG, WebP); when they are unknown (a remote URL or a `file_id`) a documented fixed cost is
 * used. Files cannot be counted without their text, so they cost a fixed amount per PDF page
 * (pages found in inline PDF data) or per file.
 */
import type { JsonObject } from "./types.ts";
import { isPlainObject } from "./validate.ts";

export const IMAGE_FAMILIES = ["openai", "anthropic", "google"] as const;
export type ImageFamily = (typeof IMAGE_FAMILIES)[number];

/** Fixed costs used when dimensions are unknown (documented in docs/context-engine.md). */
export const MEDIA_COSTS = Object.freeze({
  /** OpenAI `detail: "low"` and the base of every image. */
  openaiLow: 85,
  /** OpenAI high/auto detail of unknown size: a 1024×1024 image (4 tiles). */
  openaiUnknown: 765,
  /** Anthropic, unknown size: the cap (~1.15 megapixels / 750). */
  anthropicUnknown: 1600,
  /** Google: per 768×768 tile (and for any image up to 384 px). */
  googleTile: 258,
  /** Tokens per PDF page (text plus the page image most providers add). */
  pdfPage: 1500,
  /** A file whose content is not inline (file_id / file_url). */
  fileUnknown: 1500,
  /** Audio, flat: providers bill it by duration, which is not modelled; this keeps budgets safe. */
  audio: 1000,
});

export interface Dimensions {
  width: number;
  height: number;
}

/**
 * Largest image side the formulas price, in pixels. No provider documents a cap on the size a
 * part may claim (Gemini tiles any size, OpenAI and Anthropic scale down), so claimed or sniffed
 * sizes are clamped to this: an image never costs more than a 16,384 × 16,384 one.
 */
export const MAX_IMAGE_SIDE = 16_384;

/** Dimensions clamped to 1..MAX_IMAGE_SIDE per side (non-finite sizes count as the maximum). */
function clampDimensions(dims: Dimensions): Dimensions {
  const side = (n: number) => (n >= 1 ? Math.min(n, MAX_IMAGE_SIDE) : Number.isNaN(n) ? MAX_IMAGE_SIDE : 1);
  return { width: side(dims.width), height: side(dims.height) };
}

/** OpenAI's tile formula: fit in 2048², shortest side to 768, 170 per 512-px tile + 85. */
export function openaiImageTokens(dims: Dimensions | null, detail: string): number {
  if (detail === "low") return MEDIA_COSTS.openaiLow;
  if (dims === null) return MEDIA_COSTS.openaiUnknown;
  let { width, height } = clampDimensions(dims);
  const fit = Math.min(1, 2048 / Math.max(width, height));
  width *= fit;
  height *= fit;
  const shrink = Math.min(1, 768 / Math.min(width, height));
  width *= shrink;
  height *= shrink;
  return 170 * Math.ceil(width / 512) * Math.ceil(height / 512) + 85;
}

/** Anthropic: width × height / 750, after scaling to at most 1568 px on the long side. */
export function anthropicImageTokens(dims: Dimensions | null): number {
  if (dims === null) return MEDIA_COSTS.anthropicUnknown;
  const { width, height } = clampDimensions(dims);
  const scale = Math.min(1, 1568 / Math.max(width, height));
  return Math.min(MEDIA_COSTS.anthropicUnknown, Math.ceil((width * scale * height * scale) / 750));
}

/**
 * Google: 258 for images up to 384 px on both sides, else 258 per 768×768 tile. Gemini documents
 * no tile limit, so the size is clamped to MAX_IMAGE_SIDE (at most 22 × 22 tiles, 124,872).
 */
export function googleImageTokens(dims: Dimensions | null): number {
  if (dims === null) return MEDIA_COSTS.googleTile;
  const { width, height } = clampDimensions(dims);
  if (width <= 384 && height <= 384) return MEDIA_COSTS.googleTile;
  return MEDIA_COSTS.googleTile * Math.ceil(width / 768) * Math.ceil(height / 768);
}

// 64 KiB covers JPEG files whose EXIF/ICC segments precede the frame header.
const HEAD_BYTES = 65536;
// 4 base64 chars per 3 bytes; cut on a 4-char boundary.
const HEAD_CHARS = Math.ceil(HEAD_BYTES / 3) * 4;

/** Dimensions from the header of base64 image data (no `data:` prefix), or null. */
function base64Dimensions(base64: string, start = 0): Dimensions | null {
  const dims = sniffDimensions(Buffer.from(base64.slice(start, start + HEAD_CHARS), "base64"));
  return dims !== null && dims.width > 0 && dims.height > 0 ? dims : null;
}

/** Dimensions from a base64 `data:` URL's image header; null for other URLs. */
function dataUrlDimensions(url: string): Dimensions | null {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma < 0 || !url.slice(0, comma).endsWith(";base64")) return null;
  return base64Dimensions(url, comma + 1);
}

function jpegDimensions(b: Buffer): Dimensions | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1] ?? 0;
    const length = b.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  return null;
}

/** Dimensions from the first bytes of an image, or null when the format is not recognised. */
export function sniffDimensions(b: Buffer): Dimensions | null {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47) {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 10 && b.toString("latin1", 0, 3) === "GIF") {
    return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegDimensions(b);
  if (b.length >= 30 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") {
    const chunk = b.toString("latin1", 12, 16);
    if (chunk === "VP8X") return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
    if (chunk === "VP8 ") return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    if (chunk === "VP8L") {
      const bits = b.readUInt32LE(21);
      return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
    }
  }
  return null;
}

/** Explicit `width`/`height` of a part, or null. */
function claimedDimensions(part: JsonObject): Dimensions | null {
  const { width, height } = part;
  return typeof width === "number" && typeof height === "number" && width > 0 && height > 0
    ? { width, height }
    : null;
}

/** Dimensions of an `input_image` part: explicit `width`/`height`, else its data URL header. */
export function imageDimensions(part: JsonObject): Dimensions | null {
  const url = part.image_url;
  return claimedDimensions(part) ?? (typeof url === "string" ? dataUrlDimensions(url) : null);
}

/** Tokens of an image of known (or unknown: null) size for a family. */
function imageCost(dims: Dimensions | null, family: ImageFamily, detail: unknown): number {
  if (family === "anthropic") return anthropicImageTokens(dims);
  if (family === "google") return googleImageTokens(dims);
  return openaiImageTokens(dims, typeof detail === "string" ? detail : "auto");
}

/** Tokens of one `input_image` part for a family. */
export function imageTokens(part: JsonObject, family: ImageFamily): number {
  return imageCost(imageDimensions(part), family, part.detail);
}

/** Chat Completions `{type: "image_url", image_url: {url, detail}}` (or a bare URL string). */
export function chatImageTokens(part: JsonObject, family: ImageFamily): number {
  const inner = part.image_url;
  const url = isPlainObject(inner) ? inner.url : inner;
  const detail = isPlainObject(inner) && inner.detail !== undefined ? inner.detail : part.detail;
  const dims = claimedDimensions(part) ?? (typeof url === "string" ? dataUrlDimensions(url) : null);
  return imageCost(dims, family, detail);
}

/** Anthropic `{type: "image", source: {type: "base64", data} | {type: "url", url} | …}`. */
export function sourceImageTokens(part: JsonObject, family: ImageFamily): number {
  const source = part.source;
  let dims = claimedDimensions(part);
  if (dims === null && isPlainObject(source)) {
    if (typeof source.data === "string") dims = base64Dimensions(source.data);
    else if (typeof source.url === "string") dims = dataUrlDimensions(source.url);
  }
  return imageCost(dims, family, part.detail);
}

/** Counts the tokens of a plain string (a file's decoded text, an audio transcript). */
export type CountText = (text: string) => number;

/**
 * Tokens of one media part — an image, file or audio part in the Responses (`input_image`,
 * `input_file`, `input_audio`, `output_audio`), Chat Completions (`image_url`, `file`) or
 * Anthropic (`image`, `document`) shape — or null for any other part: text, an Anthropic
 * document holding text (`source.type` "text" or "content"), or a type priced as opaque.
 */
export function mediaPartTokens(part: JsonObject, family: ImageFamily, countText: CountText): number | null {
  switch (part.type) {
    case "input_image":
      return imageTokens(part, family);
    case "image_url":
      return chatImageTokens(part, family);
    case "image":
      return isPlainObject(part.source) ? sourceImageTokens(part, family) : null;
    case "input_file":
      return fileTokens(part, countText);
    case "file":
      return isPlainObject(part.file) ? fileTokens(part.file, countText) : null;
    case "document": {
      const source = part.source;
      if (!isPlainObject(source) || isTextSource(source)) return null;
      return fileTokens(typeof source.data === "string" ? { file_data: source.data } : {}, countText);
    }
    case "input_audio":
      return MEDIA_COSTS.audio;
    case "output_audio":
      return typeof part.transcript === "string" ? countText(part.transcript) : MEDIA_COSTS.audio;
    default:
      return null;
  }
}

/** An Anthropic document source that is text the model reads as such, not a file to price. */
export function isTextSource(source: JsonObject): boolean {
  return (source.type === "text" && typeof source.data === "string") || source.type === "content";
}

/** Strings this long made only of base64 characters are taken for binary payloads. */
export const OPAQUE_BINARY_MIN_CHARS = 512;
const BASE64_CHARS = /^[A-Za-z0-9+/_\r\n-]+={0,2}$/;

function isBinaryField(key: string, value: string): boolean {
  return (
    key === "data" ||
    value.startsWith("data:") ||
    (value.length >= OPAQUE_BINARY_MIN_CHARS && BASE64_CHARS.test(value))
  );
}

/**
 * A content part of a type the counter does not know: its JSON without binary payloads (`data`
 * fields, `data:` URLs, long base64 strings), counted as text, plus `fileUnknown` per payload
 * left out. Never 0, and never the text cost of an inline image.
 */
export function opaquePartTokens(part: JsonObject, countText: CountText): number {
  let payloads = 0;
  const json = JSON.stringify(part, (key, value) => {
    if (typeof value === "string" && isBinaryField(key, value)) {
      payloads++;
      return undefined;
    }
    return value;
  });
  return countText(json) + payloads * MEDIA_COSTS.fileUnknown;
}

/**
 * The binary payloads `opaquePartTokens` leaves out of a part (same rule, same traversal order),
 * as their count and UTF-8 size: for counters that already hold the part's serialized size.
 */
export function opaquePayloads(part: JsonObject): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  const visit = (key: string, value: unknown): void => {
    if (typeof value === "string") {
      if (isBinaryField(key, value)) {
        count++;
        bytes += Buffer.byteLength(value);
      }
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(String(i), value[i]);
    } else if (isPlainObject(value)) {
      for (const k of Object.keys(value)) visit(k, value[k]);
    }
  };
  visit("", part);
  return { count, bytes };
}

const PDF_PAGE = /\/Type\s*\/Page(?![a-z])/g;

/**
 * Tokens of one `input_file` part. Inline PDFs cost `pdfPage` per page found; other inline
 * data is decoded and counted as text; files by reference cost `fileUnknown`.
 */
export function fileTokens(part: JsonObject, countText: CountText): number {
  const data = part.file_data;
  if (typeof data !== "string") return MEDIA_COSTS.fileUnknown;
  const comma = data.startsWith("data:") ? data.indexOf(",") : -1;
  const decoded = Buffer.from(data.slice(comma + 1), "base64");
  if (decoded.toString("latin1", 0, 5) === "%PDF-") {
    const pages = decoded.toString("latin1").match(PDF_PAGE)?.length ?? 1;
    return Math.max(1, pages) * MEDIA_COSTS.pdfPage;
  }
  return countText(decoded.toString("utf8"));
}
