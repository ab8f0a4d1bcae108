/**
 * Images and files sent to Claude. `input_file` parts and images given only by `file_id` used to
 * be dropped without a word, so Claude answered without the document the client sent. PDFs and
 * text files now reach it as `document` blocks; what the Messages API cannot receive (an OpenAI
 * `file_id`, a .docx) is a 400 naming the part, and the upstream is not called.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anthropicGatewayPerSuite } from "./fake-anthropic-upstream.ts";

const MODEL = "claude/claude-sonnet-4-5";
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF").toString("base64");

describe("files and images sent to an Anthropic upstream", () => {
  const claude = anthropicGatewayPerSuite(() => ({ content: [{ type: "text", text: "Read it." }] }));

  const send = (content: unknown[], stream = false) =>
    claude.t.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: { model: MODEL, stream, input: [{ role: "user", content }] },
    });
  const lastUserBlocks = () => {
    const messages = claude.upstream.seen.at(-1)!.messages as Array<{ content: unknown[] }>;
    return messages.at(-1)!.content;
  };

  test("a base64 PDF in file_data becomes a document block", async () => {
    const res = await send([
      { type: "input_text", text: "Summarize this." },
      { type: "input_file", filename: "report.pdf", file_data: `data:application/pdf;base64,${PDF}` },
    ]);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(lastUserBlocks(), [
      { type: "text", text: "Summarize this." },
      {
        type: "document",
        source: { type: "base64", media_type: "application/pdf", data: PDF },
        title: "report.pdf",
      },
    ]);
  });

  test("bare base64 is recognized as a PDF by its bytes; a text file is sent as text", async () => {
    const notes = Buffer.from("line one\nline two").toString("base64");
    const res = await send(
      [
        { type: "input_file", file_data: PDF },
        { type: "input_file", filename: "notes.txt", file_data: `data:text/plain;base64,${notes}` },
      ],
      true,
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(lastUserBlocks(), [
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: PDF } },
      {
        type: "document",
        source: { type: "text", media_type: "text/plain", data: "line one\nline two" },
        title: "notes.txt",
      },
    ]);
  });

  // RFC 2397 lets a media type carry parameters before `;base64`: such an image was sent as a
  // `url` source (Anthropic refuses data: URLs there) and such a file was decoded as bare base64.
  test("data: URLs with media type parameters go inline, images and files alike", async () => {
    const png = Buffer.from("not really a png").toString("base64");
    const notes = Buffer.from("héllo, notes").toString("base64");
    const res = await send([
      { type: "input_image", image_url: `data:image/png;name=x.png;base64,${png}` },
      { type: "input_file", file_data: `data:application/pdf;name=r.pdf;base64,${PDF}` },
      { type: "input_file", file_data: `data:text/plain;charset=utf-8;base64,${notes}` },
      { type: "input_file", file_data: "data:text/plain;charset=utf-8,h%C3%A9llo%2C%20world" },
    ]);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(lastUserBlocks(), [
      { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: PDF } },
      { type: "document", source: { type: "text", media_type: "text/plain", data: "héllo, notes" } },
      { type: "document", source: { type: "text", media_type: "text/plain", data: "héllo, world" } },
    ]);
  });

  test("a file_url becomes a document with a url source", async () => {
    const res = await send([{ type: "input_file", file_url: "https://example.com/paper.pdf" }]);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(lastUserBlocks(), [
      { type: "document", source: { type: "url", url: "https://example.com/paper.pdf" } },
    ]);
  });

  test("a file inside a tool output reaches the tool_result", async () => {
    const res = await claude.t.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: {
        model: MODEL,
        tools: [{ type: "function", name: "fetch", parameters: { type: "object", properties: {} } }],
        input: [
          { role: "user", content: "fetch it" },
          { type: "function_call", call_id: "call_1", name: "fetch", arguments: "{}" },
          {
            type: "function_call_output",
            call_id: "call_1",
            output: [
              { type: "input_text", text: "Here:" },
              { type: "input_file", file_data: `data:application/pdf;base64,${PDF}` },
            ],
          },
        ],
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(lastUserBlocks(), [
      {
        type: "tool_result",
        tool_use_id: "call_1",
        content: [
          { type: "text", text: "Here:" },
          { type: "document", source: { type: "base64", media_type: "application/pdf", data: PDF } },
        ],
      },
    ]);
  });

  const refusals: Array<[string, unknown, RegExp]> = [
    ["an input_file given by file_id", { type: "input_file", file_id: "file-abc123" }, /file_id/],
    ["an input_image given by file_id", { type: "input_image", file_id: "file-abc123" }, /file_id/],
    [
      "a file Anthropic cannot read",
      {
        type: "input_file",
        filename: "a.docx",
        file_data:
          "data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,UEsDBA==",
      },
      /only PDF and plain text/,
    ],
    [
      "an image data: URL without a media type",
      { type: "input_image", image_url: "data:;base64,AAAA" },
      /needs an image's media type/,
    ],
    [
      "an unknown part type",
      { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
      /input_audio/,
    ],
  ];
  for (const [what, part, message] of refusals) {
    for (const stream of [false, true]) {
      test(`${what} is a 400 naming the part, not sent (${stream ? "streamed" : "not streamed"})`, async () => {
        const before = claude.upstream.seen.length;
        const res = await send([{ type: "input_text", text: "Look." }, part], stream);
        assert.equal(res.statusCode, 400, res.body);
        const body = res.json() as { error: { code: string; param: string; message: string } };
        assert.equal(body.error.code, "unsupported_content");
        assert.equal(body.error.param, "input[0].content[1]");
        assert.match(body.error.message, message);
        assert.equal(claude.upstream.seen.length, before, "the upstream was not called");
      });
    }
  }
});

describe("content parts on the Chat Completions route, to an Anthropic upstream", () => {
  const claude = anthropicGatewayPerSuite(() => ({ content: [{ type: "text", text: "ok" }] }));
  const chat = (messages: unknown[], stream = false, headers: Record<string, string> = {}) =>
    claude.t.app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers,
      payload: { model: MODEL, stream, messages },
    });
  const lastUserBlocks = () => {
    const messages = claude.upstream.seen.at(-1)!.messages as Array<{ content: unknown[] }>;
    return messages.at(-1)!.content;
  };
  const png = Buffer.from("not really a png").toString("base64");

  test("image_url and file parts become image and document blocks", async () => {
    const res = await chat([
      {
        role: "user",
        content: [
          { type: "text", text: "Look." },
          { type: "image_url", image_url: { url: `data:image/png;base64,${png}`, detail: "high" } },
          { type: "image_url", image_url: { url: "https://example.com/a.png" } },
          { type: "file", file: { file_data: `data:application/pdf;base64,${PDF}`, filename: "r.pdf" } },
        ],
      },
    ]);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(lastUserBlocks(), [
      { type: "text", text: "Look." },
      { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
      { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
      {
        type: "document",
        source: { type: "base64", media_type: "application/pdf", data: PDF },
        title: "r.pdf",
      },
    ]);
  });

  // Before: the gateway's own 400 ("only text content parts"); now the adapter's, named in `messages`.
  const refused: Array<[string, unknown, RegExp]> = [
    ["a file given by file_id", { type: "file", file: { file_id: "file-abc123" } }, /file_id/],
    ["audio", { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }, /input_audio/],
  ];
  for (const [what, part, message] of refused) {
    for (const stream of [false, true]) {
      test(`${what} Anthropic cannot take is a 400 naming the message part (${stream ? "streamed" : "not streamed"})`, async () => {
        const before = claude.upstream.seen.length;
        const calls = [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }];
        // Items and messages differ: system messages are no items, the assistant's one is two.
        const res = await chat(
          [
            { role: "system", content: "Be brief." },
            { role: "developer", content: "Be kind." },
            { role: "user", content: "Call f." },
            { role: "assistant", content: "Calling.", tool_calls: calls },
            { role: "tool", tool_call_id: "c1", content: "done" },
            { role: "user", content: [{ type: "text", text: "Look." }, part] },
          ],
          stream,
        );
        assert.equal(res.statusCode, 400, res.body);
        const body = res.json() as { error: { code: string; param: string; message: string } };
        assert.equal(body.error.code, "unsupported_content");
        assert.equal(body.error.param, "messages[5].content[1]");
        assert.match(body.error.message, /^messages\[5\]\.content\[1\]: this /);
        assert.match(body.error.message, message);
        assert.equal(claude.upstream.seen.length, before, "the upstream was not called");
      });
    }
  }

  test("in a conversation, a refused part is a note on the next turn", async () => {
    const conv = await claude.client.conversations.create();
    const headers = { "holdfast-conversation": conv.id };
    const part = { type: "file", file: { file_id: "file-abc123", filename: "a.pdf" } };
    const refusedRes = await chat(
      [{ role: "user", content: [{ type: "text", text: "Read." }, part] }],
      false,
      headers,
    );
    assert.equal(refusedRes.statusCode, 400, refusedRes.body);
    assert.equal((refusedRes.json() as { error: { param: string } }).error.param, "messages[0].content[1]");
    const res = await chat([{ role: "user", content: "Go on." }], false, headers);
    assert.equal(res.statusCode, 200, res.body);
    const first = (claude.upstream.seen.at(-1)!.messages as Array<{ content: Array<{ text?: string }> }>)[0]!;
    assert.equal(first.content[0]?.text, "Read.");
    assert.match(
      first.content[1]?.text ?? "",
      /^\[input_file "a\.pdf" left out: Anthropic cannot read files uploaded to OpenAI/,
    );
  });
});
