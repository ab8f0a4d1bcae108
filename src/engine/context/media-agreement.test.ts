/**
 * The store's default estimate and the gateway's stored-token counter (`createTokenCounter` for
 * serve's counting model, gpt-4o) price media parts alike: both use store/media-tokens.ts. They
 * differ only in text (bytes / 4 against o200k) and framing (the estimate keeps a part's JSON
 * keys, a few tokens). Other models' counters price images by their own family's rules.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pngDataUrl } from "../../../test/store-conformance/media.ts";
import { estimateTokens } from "../../store/tokens.ts";
import type { JsonObject, JsonValue } from "../../store/types.ts";
import { createTokenCounter } from "./token-counter.ts";

const QUESTION: JsonObject = { type: "input_text", text: "What is in this one?" };
const message = (...parts: JsonValue[]): JsonObject => ({ type: "message", role: "user", content: parts });

function addedBy(count: (c: JsonObject) => number, part: JsonObject): number {
  return count(message(QUESTION, part)) - count(message(QUESTION));
}

const photo = pngDataUrl(1600, 1200, 700_000);
const pdf = `data:application/pdf;base64,${Buffer.from(
  `%PDF-1.7\n1 0 obj << /Type /Pages >>\n${"2 0 obj << /Type /Page >>\n".repeat(4)}`.padEnd(200_000),
).toString("base64")}`;
const blob = Buffer.alloc(200_000, 9).toString("base64");

const MEDIA_PARTS: JsonObject[] = [
  { type: "input_image", image_url: photo },
  { type: "input_image", image_url: photo, detail: "low" },
  { type: "input_image", image_url: "https://example.com/cat.png" },
  { type: "image_url", image_url: { url: photo } },
  { type: "image", source: { type: "base64", media_type: "image/png", data: photo.split(",")[1] ?? "" } },
  { type: "input_file", filename: "a.pdf", file_data: pdf },
  { type: "input_file", file_id: "file_1" },
  { type: "file", file: { file_data: pdf } },
  {
    type: "document",
    source: { type: "base64", media_type: "application/pdf", data: pdf.split(",")[1] ?? "" },
  },
  { type: "input_audio", input_audio: { data: blob, format: "wav" } },
  { type: "sticker", payload: blob },
];

describe("media costs: the store's default estimate and the gateway's counter", () => {
  it("agree on every media part, up to the estimate's JSON framing", () => {
    const gateway = createTokenCounter("gpt-4o");
    for (const part of MEDIA_PARTS) {
      const engine = addedBy(gateway, part);
      const store = addedBy(estimateTokens, part);
      const label = JSON.stringify(part).slice(0, 80);
      assert.ok(engine >= 85, `${label}: the gateway prices it at ${engine}`);
      assert.ok(store >= engine && store <= engine + 16, `${label}: store ${store}, gateway ${engine}`);
    }
  });
});
