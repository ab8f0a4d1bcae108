import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import {
  anthropicImageTokens,
  fileTokens,
  googleImageTokens,
  imageDimensions,
  MAX_IMAGE_SIDE,
  MEDIA_COSTS,
  openaiImageTokens,
  sniffDimensions,
} from "../../store/media-tokens.ts";
import type { JsonValue } from "../../store/types.ts";
import { estimateTextTokens } from "./estimate.ts";
import { createRandom, generateText, TEXT_KINDS } from "./synthetic-text.ts";
import { createTokenCounter } from "./token-counter.ts";
import { createTextCounter, MAX_RUN } from "./tokenizers.ts";

const require = createRequire(import.meta.url);

function png(width: number, height: number): string {
  const b = Buffer.alloc(33);
  b.writeUInt32BE(0x89504e47, 0);
  b.writeUInt32BE(0x0d0a1a0a, 4);
  b.writeUInt32BE(13, 8);
  b.write("IHDR", 12, "latin1");
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return `data:image/png;base64,${b.toString("base64")}`;
}

describe("token counting", () => {
  it("counts o200k and cl100k exactly, and special-token text as plain text", () => {
    const o200k = require("gpt-tokenizer/cjs/encoding/o200k_base");
    const text = "Hello, world! Ceci est un test. 你好";
    assert.equal(createTextCounter("o200k_base")(text), o200k.countTokens(text));
    assert.ok(createTextCounter("cl100k_base")("hello world") > 0);
    assert.ok(createTextCounter("o200k_base")("a <|endoftext|> b") > 3);
  });

  it("estimates texts over maxExactChars instead of tokenizing them", () => {
    const exact = createTextCounter("o200k_base");
    const capped = createTextCounter("o200k_base", 1, 100);
    const text = "The quick brown fox jumps over the lazy dog. ".repeat(10);
    assert.equal(capped(text), Math.ceil(estimateTextTokens(text)));
    assert.ok(Math.abs(capped(text) - exact(text)) / exact(text) < 0.15);
  });

  it("counts long runs (one huge pre-token) in linear time, and ordinary text exactly as before", () => {
    const o200k = require("gpt-tokenizer/cjs/encoding/o200k_base");
    const count = createTextCounter("o200k_base");
    // Before: BPE was quadratic in a run's length (200,000 × "a" took ~25 s, "漢" minutes).
    const started = performance.now();
    for (const unit of ["a", " ", "!", "\n", "漢", "😀", "!/\n/\n"]) {
      const text = unit.repeat(Math.floor(200_000 / unit.length));
      const n = count(text);
      assert.ok(n > 0 && n <= text.length, `${JSON.stringify(unit)}: ${n}`);
    }
    assert.ok(performance.now() - started < 10_000, `took ${Math.round(performance.now() - started)} ms`);
    // A run cut into pieces costs at most one extra token per cut.
    const run = "x".repeat(3000);
    assert.ok(Math.abs(count(run) - o200k.countTokens(run)) <= Math.ceil(run.length / MAX_RUN));
    // Around a long run, pieces end at word boundaries: the prose is counted exactly.
    const prose = "The quick brown fox jumps over the lazy dog, twice. ".repeat(40);
    const mixed = `${prose}${"=".repeat(2000)}\n${prose}`;
    assert.equal(count(mixed), o200k.countTokens(prose) * 2 + count(`${"=".repeat(2000)}\n`));
    assert.equal(count(prose), o200k.countTokens(prose));
  });

  it("counts items: message overhead, calls, outputs, summaries", () => {
    const count = createTokenCounter("gpt-4o");
    const text = createTextCounter("o200k_base");
    const m = count({
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "hello there" }],
    });
    assert.equal(m, 4 + text("hello there"));
    const c = count({
      type: "function_call",
      call_id: "c1",
      name: "get_weather",
      arguments: '{"city":"Paris"}',
    });
    assert.equal(c, 4 + 8 + text("get_weather") + text('{"city":"Paris"}'));
    assert.equal(
      count({ type: "function_call_output", call_id: "c1", output: "sunny" }),
      4 + 8 + text("sunny"),
    );
  });

  it("resolves the tokenizer by model: estimate × factor for Claude", () => {
    const claude = createTokenCounter("claude-sonnet-4-5");
    const body = {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "The quick brown fox." }],
    };
    const expected = 5 + Math.ceil(estimateTextTokens("The quick brown fox.") * 1.2);
    assert.equal(claude(body), expected);
    assert.equal(createTokenCounter("gpt-4-0613")({ type: "message", role: "user", content: "hi" }), 5);
  });

  it("prices images by OpenAI's tile formula when dimensions are known", () => {
    assert.equal(openaiImageTokens({ width: 1024, height: 1024 }, "high"), 765);
    assert.equal(openaiImageTokens({ width: 2048, height: 4096 }, "auto"), 1105);
    assert.equal(openaiImageTokens({ width: 4000, height: 4000 }, "low"), 85);
    assert.equal(openaiImageTokens(null, "auto"), 765);
    assert.deepEqual(sniffDimensions(Buffer.from(png(640, 480).split(",")[1] as string, "base64")), {
      width: 640,
      height: 480,
    });
    assert.deepEqual(imageDimensions({ type: "input_image", image_url: png(300, 200) }), {
      width: 300,
      height: 200,
    });
    const count = createTokenCounter("gpt-4o");
    const image = {
      type: "message",
      role: "user",
      content: [{ type: "input_image", image_url: png(512, 512), detail: "high" }],
    };
    assert.equal(count(image), 4 + 170 + 85); // small images are not upscaled
  });

  it("clamps claimed image sizes: a 1e9-px or infinite image costs no more than a 16,384-px one", () => {
    const huge = { width: 1e9, height: 1e9 };
    const max = { width: MAX_IMAGE_SIDE, height: MAX_IMAGE_SIDE };
    // Before: Google cost ~4.4e14 tokens, and Infinity gave NaN for OpenAI and Anthropic.
    assert.equal(googleImageTokens(huge), 258 * 22 * 22);
    assert.equal(googleImageTokens(max), 258 * 22 * 22);
    assert.equal(googleImageTokens({ width: 1e9, height: 10 }), 258 * 22);
    assert.equal(googleImageTokens({ width: 1000, height: 800 }), 258 * 4, "ordinary sizes unchanged");
    for (const dims of [huge, { width: Infinity, height: Infinity }, { width: Infinity, height: 5 }]) {
      for (const n of [
        googleImageTokens(dims),
        anthropicImageTokens(dims),
        openaiImageTokens(dims, "high"),
      ]) {
        assert.ok(Number.isFinite(n) && n > 0 && n <= 258 * 22 * 22, `${JSON.stringify(dims)}: ${n}`);
      }
    }
    assert.equal(anthropicImageTokens({ width: Infinity, height: Infinity }), 1600);
    const gemini = createTokenCounter("gemini-2.5-pro");
    const body = {
      type: "message",
      role: "user",
      content: [{ type: "input_image", width: 1e9, height: 1e9 }],
    };
    assert.ok(gemini(body) < 130_000, String(gemini(body)));
  });

  it("counts Chat Completions and Anthropic part shapes like their Responses equivalents", () => {
    const gpt = createTokenCounter("gpt-4o");
    const claude = createTokenCounter("claude-sonnet-4-5");
    const text = createTextCounter("o200k_base");
    const msg = (...content: JsonValue[]) => ({ type: "message", role: "user", content });
    const pdf = `data:application/pdf;base64,${Buffer.from("%PDF-1.4\n<< /Type /Page >>\n<< /Type /Page >>").toString("base64")}`;
    const image = png(1024, 1024);
    const base64 = image.split(",")[1] as string;
    // Before: every part below but `input_audio` cost 0 tokens.
    const same: Array<[JsonValue, JsonValue]> = [
      [
        { type: "image_url", image_url: { url: image, detail: "high" } },
        { type: "input_image", image_url: image, detail: "high" },
      ],
      [
        { type: "image_url", image_url: { url: "https://x/y.png", detail: "low" } },
        { type: "input_image", image_url: "https://x/y.png", detail: "low" },
      ],
      [
        { type: "image_url", image_url: "https://x/y.png" },
        { type: "input_image", image_url: "https://x/y.png" },
      ],
      [
        { type: "image", source: { type: "base64", media_type: "image/png", data: base64 } },
        { type: "input_image", image_url: image },
      ],
      [
        { type: "image", source: { type: "url", url: "https://x/y.png" } },
        { type: "input_image", image_url: "https://x/y.png" },
      ],
      [
        { type: "file", file: { file_data: pdf, filename: "a.pdf" } },
        { type: "input_file", file_data: pdf, filename: "a.pdf" },
      ],
      [
        { type: "file", file: { file_id: "file_1" } },
        { type: "input_file", file_id: "file_1" },
      ],
      [
        {
          type: "document",
          source: { type: "base64", media_type: "application/pdf", data: pdf.split(",")[1] as string },
        },
        { type: "input_file", file_data: pdf },
      ],
      [
        { type: "document", source: { type: "url", url: "https://x/a.pdf" } },
        { type: "input_file", file_url: "https://x/a.pdf" },
      ],
      [
        { type: "document", source: { type: "text", media_type: "text/plain", data: "Plain notes." } },
        { type: "input_text", text: "Plain notes." },
      ],
      [
        { type: "document", source: { type: "content", content: [{ type: "text", text: "Inner." }] } },
        { type: "input_text", text: "Inner." },
      ],
      [
        { type: "text", text: "hello there" },
        { type: "input_text", text: "hello there" },
      ],
      [
        { type: "refusal", refusal: "I can't." },
        { type: "input_text", text: "I can't." },
      ],
      [
        { type: "output_audio", transcript: "Hi, how can I help?" },
        { type: "output_text", text: "Hi, how can I help?" },
      ],
      [{ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }, { type: "input_audio" }],
    ];
    for (const [shape, responses] of same) {
      for (const count of [gpt, claude]) {
        const n = count(msg(shape));
        assert.equal(n, count(msg(responses)), JSON.stringify(shape).slice(0, 120));
        assert.ok(n > 5, JSON.stringify(shape).slice(0, 120));
      }
    }
    assert.equal(gpt(msg({ type: "file", file: { file_data: pdf } })), 4 + 3000);
    assert.equal(gpt(msg({ type: "image_url", image_url: { url: image, detail: "high" } })), 4 + 765);
    assert.equal(gpt(msg({ type: "text", text: "hello there" })), 4 + text("hello there"));
  });

  it("counts unknown part types by their strings, never 0 and never an inline image as text", () => {
    const gpt = createTokenCounter("gpt-4o");
    const msg = (part: JsonValue) => ({ type: "message", role: "user", content: [part] });
    const note = { type: "custom_note", body: "Remember the milk and the eggs.", tags: ["shopping"] };
    // Before: 4 (the overhead only).
    assert.ok(gpt(msg(note)) >= 4 + createTextCounter("o200k_base")("Remember the milk and the eggs."));
    assert.ok(gpt(msg({ type: "mystery" })) > 4);
    const blob = Buffer.alloc(1_000_000, 7).toString("base64");
    const blobParts: JsonValue[] = [
      { type: "sticker", data: blob, caption: "cat" },
      { type: "sticker", url: `data:image/png;base64,${blob}` },
      { type: "sticker", source: { type: "base64", data: blob } },
      { type: "sticker", payload: blob },
    ];
    for (const part of blobParts) {
      const n = gpt(msg(part));
      assert.ok(n >= 4 + MEDIA_COSTS.fileUnknown && n < 4 + MEDIA_COSTS.fileUnknown + 50, `${n}`);
    }
  });

  it("prices files by pages or by their text", () => {
    const pdf = Buffer.from(
      "%PDF-1.4\n1 0 obj << /Type /Pages >>\n2 0 obj << /Type /Page >>\n3 0 obj << /Type /Page >>",
    );
    assert.equal(
      fileTokens(
        { type: "input_file", file_data: `data:application/pdf;base64,${pdf.toString("base64")}` },
        () => 0,
      ),
      3000,
    );
    assert.equal(
      fileTokens({ type: "input_file", file_id: "file_1" }, () => 0),
      1500,
    );
    assert.equal(
      fileTokens({ type: "input_file", file_data: Buffer.from("abc").toString("base64") }, (t) => t.length),
      3,
    );
  });

  it("keeps the calibrated estimate within 5% mean absolute error of o200k on generated text", () => {
    const o200k = require("gpt-tokenizer/cjs/encoding/o200k_base");
    const random = createRandom(99);
    let absError = 0;
    let samples = 0;
    for (const kind of TEXT_KINDS) {
      for (let i = 0; i < 8; i++) {
        const text = generateText(random, kind, 500 + Math.floor(random() * 3000));
        const exact = o200k.countTokens(text, { disallowedSpecial: new Set() });
        absError += Math.abs(estimateTextTokens(text) - exact) / exact;
        samples++;
      }
    }
    assert.ok(absError / samples < 0.05, `MAE ${((absError / samples) * 100).toFixed(1)}%`);
  });
});
