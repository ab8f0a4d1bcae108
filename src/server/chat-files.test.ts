/**
 * Images and files sent to a Chat Completions upstream. `input_file` parts and images given only by
 * `file_id` used to be dropped without a word (and so was any image or file in a tool output), so
 * the model answered without what the client sent. Files now go as Chat `file` parts (`file_data`
 * or `file_id`, with the `filename`); what Chat cannot carry is refused in the request's own input
 * (400 `unsupported_content`, `param` into the request) and becomes a text note in history.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";
import { openSdkGatewayOverChat } from "./sdk-test-gateway.ts";

const MODEL = "chat/gpt-4o";
const PDF = `data:application/pdf;base64,${Buffer.from("%PDF-1.4\n%%EOF").toString("base64")}`;

type ChatMessage = { role: string; content: unknown };

describe("files and images sent to a Chat Completions upstream", () => {
  let upstream: FakeChatUpstream;
  let client: OpenAI;
  let close: () => Promise<void>;

  before(async () => {
    upstream = await startFakeChatUpstream(() => ({ content: "ok" }));
    ({ client, close } = await openSdkGatewayOverChat(upstream));
  });
  after(() => close());

  const messages = () => upstream.seen.at(-1)!.messages as ChatMessage[];
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: unknown) => error,
    );

  test("file_data and file_id files become file parts; images by URL stay image_url parts", async () => {
    const answer = await client.responses.create({
      model: MODEL,
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "Compare." },
            { type: "input_file", filename: "a.pdf", file_data: PDF },
            { type: "input_file", file_id: "file-abc123" },
            { type: "input_image", image_url: "https://example.com/a.png", detail: "low" },
          ],
        },
      ],
    });
    assert.equal(answer.output_text, "ok");
    assert.deepEqual(messages().at(-1), {
      role: "user",
      content: [
        { type: "text", text: "Compare." },
        { type: "file", file: { file_data: PDF, filename: "a.pdf" } },
        { type: "file", file: { file_id: "file-abc123" } },
        { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } },
      ],
    });
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ["an image given by file_id", { type: "input_image", file_id: "file-abc123", detail: "auto" }, /file_id/],
    ["a file given by file_url", { type: "input_file", file_url: "https://example.com/a.pdf" }, /file_url/],
  ];
  for (const [what, part, message] of refused) {
    test(`${what} in the request is a 400 pointing into it, not sent; later turns go on with a note`, async () => {
      const conv = await client.conversations.create({
        items: [{ type: "message", role: "user", content: "Earlier." }],
      });
      const before = upstream.seen.length;
      const error = await refusal(
        client.responses.create({
          model: MODEL,
          conversation: conv.id,
          input: [{ role: "user", content: [{ type: "input_text", text: "Look." }, part] }],
        } as never),
      );
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.equal(error.status, 400);
      assert.equal((error.error as { code?: string }).code, "unsupported_content");
      assert.equal((error.error as { param?: string }).param, "input[0].content[1]");
      assert.match(error.message, message);
      assert.equal(upstream.seen.length, before, "the upstream was not called");

      // The refused input stays in the conversation (written first): later turns are not refused.
      const answer = await client.responses.create({ model: MODEL, conversation: conv.id, input: "Go on." });
      assert.equal(answer.output_text, "ok");
      const stored = messages().find((m) => Array.isArray(m.content)) as {
        content: Array<{ text?: string }>;
      };
      assert.equal(stored.content[0]?.text, "Look.");
      assert.match(stored.content[1]?.text ?? "", /^\[input_(image|file) left out: Chat Completions takes /);
    });
  }

  test("media in a tool output: refused in the request, a note in history", async () => {
    const tools = [
      {
        type: "function" as const,
        name: "fetch",
        parameters: { type: "object", properties: {} },
        strict: false,
      },
    ];
    const output = [
      { type: "input_text", text: "Here:" },
      { type: "input_image", image_url: "https://example.com/chart.png" },
    ];
    const error = await refusal(
      client.responses.create({
        model: MODEL,
        tools,
        input: [
          { role: "user", content: "fetch it" },
          { type: "function_call", call_id: "call_1", name: "fetch", arguments: "{}" },
          { type: "function_call_output", call_id: "call_1", output },
        ],
      } as never),
    );
    assert.ok(error instanceof OpenAI.APIError, String(error));
    assert.equal((error.error as { param?: string }).param, "input[2].output[1]");

    const conv = await client.conversations.create({
      items: [
        { type: "message", role: "user", content: "fetch it" },
        { type: "function_call", call_id: "call_1", name: "fetch", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output },
      ] as never,
    });
    const answer = await client.responses.create({
      model: MODEL,
      conversation: conv.id,
      tools,
      input: "And?",
    });
    assert.equal(answer.output_text, "ok");
    assert.deepEqual(
      messages().find((m) => m.role === "tool"),
      {
        role: "tool",
        tool_call_id: "call_1",
        content: "Here:\n[input_image left out: Chat Completions tool messages carry only text]",
      },
    );
  });
});
