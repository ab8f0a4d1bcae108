/**
 * A content part one upstream cannot take must not brick a conversation. A turn's input is
 * written before the model is called, so a part Anthropic refused stayed in the conversation and
 * every later turn sent it again as history and was refused again, with a `param` counting the
 * items sent upstream rather than the client's `input`. Now only the request's own input is
 * refused (its `param` points into that request); the same part in history is replaced by a
 * short text note saying what was left out and why.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { anthropicGatewayPerSuite } from "./fake-anthropic-upstream.ts";

const MODEL = "claude/claude-sonnet-4-5";
const DOCX = {
  type: "input_file" as const,
  filename: "report.docx",
  file_data: "data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,UEsDBA==",
};

type Block = { type: string; text?: string; content?: unknown };

/** Sends `request` to the Responses API and answers the error it was refused with. */
async function refusal(client: OpenAI, request: unknown): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await client.responses.create(request as never).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(error instanceof OpenAI.APIError, String(error));
  return error;
}

describe("a part Anthropic cannot take, in a conversation", () => {
  const claude = anthropicGatewayPerSuite(() => ({ content: [{ type: "text", text: "ok" }] }));

  const allBlocks = (): Block[] =>
    (claude.upstream.seen.at(-1)!.messages as Array<{ content: Block[] }>).flatMap((m) => m.content);

  for (const stream of [false, true]) {
    test(`the refused turn is a 400 pointing into the request; later turns go on (${stream ? "streamed" : "not streamed"})`, async () => {
      const { client } = claude;
      const conv = await client.conversations.create({});
      await client.responses.create({ model: MODEL, conversation: conv.id, input: "Hello." });

      const refused = await refusal(client, {
        model: MODEL,
        conversation: conv.id,
        stream: false,
        input: [
          { role: "user", content: "First this." },
          { role: "user", content: [{ type: "input_text", text: "Read it." }, DOCX] },
        ],
      });
      assert.equal(refused.status, 400);
      assert.equal((refused.error as { code?: string }).code, "unsupported_content");
      // The client's second input item, not the fourth item sent upstream.
      assert.equal((refused.error as { param?: string }).param, "input[1].content[1]");

      const seenBefore = claude.upstream.seen.length;
      let text = "";
      if (stream) {
        const events = await client.responses.create({
          model: MODEL,
          conversation: conv.id,
          input: "Go on without it.",
          stream: true,
        });
        for await (const event of events)
          if (event.type === "response.output_text.delta") text += event.delta;
      } else {
        const answer = await client.responses.create({
          model: MODEL,
          conversation: conv.id,
          input: "Go on without it.",
        });
        text = answer.output_text;
      }
      assert.equal(text, "ok");
      assert.equal(claude.upstream.seen.length, seenBefore + 1);
      const texts = allBlocks().map((b) => b.text);
      assert.ok(
        texts.includes(
          '[input_file "report.docx" left out: Anthropic reads only PDF and plain text documents]',
        ),
        JSON.stringify(texts),
      );
      assert.ok(texts.includes("Read it."), "the rest of the refused message is still sent");
    });
  }

  test("parts stored by other means (an OpenAI file_id image, a tool output's file) become notes, not refusals", async () => {
    const { client } = claude;
    const conv = await client.conversations.create({
      items: [
        {
          type: "message",
          role: "user",
          content: [
            { type: "input_text", text: "See this." },
            { type: "input_image", file_id: "file-abc123", detail: "auto" },
          ],
        },
        { type: "function_call", call_id: "call_1", name: "fetch", arguments: "{}" },
        {
          type: "function_call_output",
          call_id: "call_1",
          output: [{ type: "input_file", filename: "data.xlsx", file_id: "file-def456" }],
        },
      ] as never,
    });
    const answer = await client.responses.create({
      model: MODEL,
      conversation: conv.id,
      input: "And?",
      tools: [
        { type: "function", name: "fetch", parameters: { type: "object", properties: {} }, strict: false },
      ],
    });
    assert.equal(answer.output_text, "ok");
    const blocks = allBlocks();
    const texts = blocks.map((b) => b.text);
    assert.ok(
      texts.includes("[input_image left out: Anthropic cannot read files uploaded to OpenAI (a file_id)]"),
      JSON.stringify(texts),
    );
    const result = blocks.find((b) => b.type === "tool_result");
    assert.deepEqual(result?.content, [
      {
        type: "text",
        text: '[input_file "data.xlsx" left out: Anthropic cannot read files uploaded to OpenAI (a file_id)]',
      },
    ]);
  });

  test("store: false after a stored response: the request's own part is refused at its index", async () => {
    const { client } = claude;
    const first = await client.responses.create({ model: MODEL, input: "Hello." });
    const before = claude.upstream.seen.length;
    const error = await refusal(client, {
      model: MODEL,
      store: false,
      previous_response_id: first.id,
      input: [{ role: "user", content: [{ type: "input_text", text: "Read it." }, DOCX] }],
    });
    assert.equal(error.status, 400);
    assert.equal((error.error as { param?: string }).param, "input[0].content[1]");
    assert.match(error.message, /report\.docx.*only PDF and plain text documents/);
    assert.equal(claude.upstream.seen.length, before, "the upstream was not called");
  });

  test("the same part in the request's own input after history is refused with the request's index", async () => {
    const { client } = claude;
    const conv = await client.conversations.create({
      items: [
        { type: "message", role: "user", content: "one" },
        { type: "message", role: "assistant", content: "two" },
      ],
    });
    const before = claude.upstream.seen.length;
    const error = await refusal(client, {
      model: MODEL,
      conversation: conv.id,
      input: [{ role: "user", content: [{ type: "input_image", file_id: "file-abc123", detail: "auto" }] }],
    });
    assert.equal(error.status, 400);
    assert.equal((error.error as { param?: string }).param, "input[0].content[0]");
    assert.equal(claude.upstream.seen.length, before, "the upstream was not called");
  });
});
