import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pngDataUrl } from "../../test/store-conformance/media.ts";
import { MEDIA_COSTS } from "./media-tokens.ts";
import { estimateTokens } from "./tokens.ts";
import type { JsonObject, JsonValue } from "./types.ts";

const QUESTION: JsonObject = { type: "input_text", text: "What is in this one?" };
const message = (...parts: JsonValue[]): JsonObject => ({ type: "message", role: "user", content: parts });
const jsonQuarter = (body: JsonObject): number => Math.ceil(Buffer.byteLength(JSON.stringify(body)) / 4);

/**
 * What adding `part` to a message costs under the default estimate. A media part costs its price
 * plus its JSON framing (keys, quotes, commas: a few tokens), never its payload.
 */
function added(part: JsonObject): number {
  return estimateTokens(message(QUESTION, part)) - estimateTokens(message(QUESTION));
}

function assertCosts(part: JsonObject, price: number): void {
  const n = added(part);
  assert.ok(n >= price && n <= price + 16, `${JSON.stringify(part).slice(0, 80)}: ${n}, price ${price}`);
}

const pdf = (pages: number): string => {
  const body = `%PDF-1.7\n1 0 obj << /Type /Pages >>\n${"2 0 obj << /Type /Page >>\n".repeat(pages)}`;
  return `data:application/pdf;base64,${Buffer.from(body.padEnd(400_000, " ")).toString("base64")}`;
};

describe("estimateTokens (the store's default count)", () => {
  it("counts text as its JSON size / 4, as before", () => {
    const text = message(QUESTION, { type: "output_text", text: "naïve café ".repeat(50) });
    assert.equal(estimateTokens(text), jsonQuarter(text));
    const call = { type: "function_call", call_id: "c1", name: "f", arguments: '{"a":1}' };
    assert.equal(estimateTokens(call), jsonQuarter(call));
    const document = { type: "document", source: { type: "text", media_type: "text/plain", data: "Notes." } };
    assert.equal(estimateTokens(message(document)), jsonQuarter(message(document)));
  });

  it("prices a data URL image by its size, not its base64 (a 700 KB photo: ~765, not ~175,000)", () => {
    const photo = { type: "input_image", image_url: pngDataUrl(1024, 768, 700_000) };
    // Before: JSON / 4.
    assert.ok(jsonQuarter(message(QUESTION, photo)) > 175_000);
    assertCosts(photo, 765);
    assertCosts({ ...photo, detail: "low" }, MEDIA_COSTS.openaiLow);
    // OpenAI's tiles: 4096 × 2048 fits in 2048 × 1024, shortest side to 768: 1536 × 768, 3 × 2 tiles.
    assertCosts({ type: "input_image", image_url: pngDataUrl(4096, 2048, 1000) }, 170 * 3 * 2 + 85);
    assertCosts({ type: "input_image", image_url: pngDataUrl(512, 512, 1000) }, 170 + 85);
    assertCosts({ type: "image_url", image_url: { url: photo.image_url, detail: "high" } }, 765);
    const data = photo.image_url.slice(photo.image_url.indexOf(",") + 1);
    assertCosts({ type: "image", source: { type: "base64", media_type: "image/png", data } }, 765);
  });

  it("prices an https image URL at the fixed unknown-size cost", () => {
    assertCosts({ type: "input_image", image_url: "https://example.com/cat.png" }, MEDIA_COSTS.openaiUnknown);
    assertCosts({ type: "input_image", file_id: "file_1", detail: "low" }, MEDIA_COSTS.openaiLow);
  });

  it("prices an inline PDF per page, a file by reference at the fixed cost, inline text by its size", () => {
    assertCosts({ type: "input_file", filename: "report.pdf", file_data: pdf(3) }, 3 * MEDIA_COSTS.pdfPage);
    assertCosts({ type: "file", file: { file_data: pdf(1) } }, MEDIA_COSTS.pdfPage);
    assertCosts({ type: "input_file", file_id: "file_1" }, MEDIA_COSTS.fileUnknown);
    const notes = Buffer.from("x".repeat(40_000)).toString("base64");
    assertCosts({ type: "input_file", file_data: notes }, 10_000);
  });

  it("prices audio flat (its transcript when it has one)", () => {
    const wav = Buffer.alloc(500_000, 3).toString("base64");
    assertCosts({ type: "input_audio", input_audio: { data: wav, format: "wav" } }, MEDIA_COSTS.audio);
    assertCosts({ type: "output_audio", data: wav, transcript: "x".repeat(400) }, 100);
  });

  it("prices base64 payloads of unknown part types as files, and media in tool outputs too", () => {
    const blob = Buffer.alloc(300_000, 7).toString("base64");
    assertCosts({ type: "sticker", payload: blob, caption: "cat" }, MEDIA_COSTS.fileUnknown);
    const output = {
      type: "function_call_output",
      call_id: "c1",
      output: [{ type: "input_image", image_url: pngDataUrl(512, 512, 300_000) }],
    };
    const n = estimateTokens(output);
    assert.ok(n >= 255 && n < 300, `${n}`);
  });
});
