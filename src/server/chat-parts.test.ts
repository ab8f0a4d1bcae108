/**
 * Images, files and audio sent through `/v1/chat/completions`. Every non-text content part used to
 * be a 400 ("only text content parts are supported"), so no vision or file request an `openai` SDK
 * user sends through the Chat API got through. User parts now become `input_image` / `input_file` /
 * `input_audio` items, reach an OpenAI-compatible upstream as Chat parts again, are stored in a
 * conversation and replayed; malformed or misplaced parts are a 400 naming the part.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";
import { openSdkGateway, openSdkGatewayOverChat } from "./sdk-test-gateway.ts";

const MODEL = "chat/gpt-4o";
const PDF = `data:application/pdf;base64,${Buffer.from("%PDF-1.4\n%%EOF").toString("base64")}`;
const PNG = `data:image/png;base64,${Buffer.from("not really a png").toString("base64")}`;

type ChatMessage = { role: string; content: unknown };
type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe("content parts on the Chat Completions route, to a Chat Completions upstream", () => {
  let upstream: FakeChatUpstream;
  let client: OpenAI;
  let close: () => Promise<void>;

  before(async () => {
    upstream = await startFakeChatUpstream(() => ({ content: "ok" }));
    ({ client, close } = await openSdkGatewayOverChat(upstream));
  });
  after(() => close());

  const messages = () => upstream.seen.at(-1)!.messages as ChatMessage[];
  const vision: OpenAI.Chat.ChatCompletionContentPart[] = [
    { type: "text", text: "Compare." },
    { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } },
    { type: "image_url", image_url: { url: PNG } },
    { type: "file", file: { file_data: PDF, filename: "a.pdf" } },
    { type: "file", file: { file_id: "file-abc123" } },
  ];
  const asSent = [
    { type: "text", text: "Compare." },
    { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } },
    { type: "image_url", image_url: { url: PNG, detail: "auto" } },
    { type: "file", file: { file_data: PDF, filename: "a.pdf" } },
    { type: "file", file: { file_id: "file-abc123" } },
  ];

  for (const stream of [false, true]) {
    test(`image_url and file parts reach the upstream as Chat parts (${stream ? "streamed" : "not streamed"})`, async () => {
      const body = { model: MODEL, messages: [{ role: "user" as const, content: vision }] };
      if (stream) {
        let text = "";
        for await (const chunk of await client.chat.completions.create({ ...body, stream: true }))
          text += chunk.choices[0]?.delta.content ?? "";
        assert.equal(text, "ok");
      } else {
        const answer = await client.chat.completions.create(body);
        assert.equal(answer.choices[0]?.message.content, "ok");
      }
      assert.deepEqual(messages(), [{ role: "user", content: asSent }]);
    });
  }

  test("input_audio reaches the upstream as it was sent", async () => {
    const audio = { type: "input_audio" as const, input_audio: { data: "UklGRg==", format: "wav" as const } };
    await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: [{ type: "text", text: "Transcribe." }, audio] }],
    });
    assert.deepEqual(messages(), [{ role: "user", content: [{ type: "text", text: "Transcribe." }, audio] }]);
  });

  test("a conversation stores the parts as items and replays them, through either API", async () => {
    const conv = await client.conversations.create();
    const headers = { "Holdfast-Conversation": conv.id };
    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: "user", content: vision }] },
      { headers },
    );
    const items = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.deepEqual((items.data[0] as { content: unknown }).content, [
      { type: "input_text", text: "Compare." },
      { type: "input_image", image_url: "https://example.com/a.png", detail: "low" },
      { type: "input_image", image_url: PNG, detail: "auto" },
      { type: "input_file", file_data: PDF, filename: "a.pdf" },
      { type: "input_file", file_id: "file-abc123" },
    ]);

    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: "user", content: "And now?" }] },
      { headers },
    );
    assert.deepEqual(messages()[0], { role: "user", content: asSent });
    await client.responses.create({ model: MODEL, conversation: conv.id, input: "Once more." });
    assert.deepEqual(messages()[0], { role: "user", content: asSent });
  });

  test("an image as large as the body limit allows fits the window of a stateless turn", async () => {
    // Counted as text, its base64 was ~180k tokens: every such request was refused (context_overflow).
    const big = `data:image/png;base64,${"A".repeat(700 * 1024)}`;
    const answer = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: big } }] }],
    });
    assert.equal(answer.choices[0]?.message.content, "ok");
    assert.equal((messages()[0]!.content as Array<{ type: string }>)[0]?.type, "image_url");
  });

  test("an assistant message's refusal (as a completion returns it) is kept, not dropped", async () => {
    await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: "user", content: "Do the bad thing." },
        { role: "assistant", content: null, refusal: "I can't help with that." },
        { role: "user", content: [{ type: "text", text: "Fine." }] },
      ],
    });
    assert.deepEqual(messages()[1], { role: "assistant", content: "I can't help with that." });
  });

  const badShapes: Array<[string, Params["messages"], string, RegExp]> = [
    [
      "an image_url without a url",
      [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] as never,
      "messages[0].content[0].image_url.url",
      /url must be an image URL/,
    ],
    [
      "an image url that is not a string",
      [{ role: "user", content: [{ type: "image_url", image_url: { url: 42 } }] }] as never,
      "messages[0].content[0].image_url.url",
      /url must be/,
    ],
    [
      "an unknown detail",
      [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "x" },
            { type: "image_url", image_url: { url: PNG, detail: "max" } },
          ],
        },
      ] as never,
      "messages[1].content[1].image_url.detail",
      /detail must be one of auto, low, high, original/,
    ],
    [
      "a file with neither file_data nor file_id",
      [{ role: "user", content: [{ type: "file", file: { filename: "a.pdf" } }] }],
      "messages[0].content[0].file",
      /exactly one of file_data .* and file_id/,
    ],
    [
      "a file with both file_data and file_id",
      [{ role: "user", content: [{ type: "file", file: { file_data: PDF, file_id: "file-abc" } }] }],
      "messages[0].content[0].file",
      /exactly one of/,
    ],
    [
      "a file_id that is not a string",
      [{ role: "user", content: [{ type: "file", file: { file_id: 7 } }] }] as never,
      "messages[0].content[0].file.file_id",
      /must be a non-empty string/,
    ],
    [
      "audio in an unknown format",
      [
        { role: "user", content: [{ type: "input_audio", input_audio: { data: "AAAA", format: "ogg" } }] },
      ] as never,
      "messages[0].content[0].input_audio.format",
      /format must be one of wav, mp3/,
    ],
    [
      "an unknown part type",
      [{ role: "user", content: [{ type: "video_url", video_url: { url: "x" } }] }] as never,
      "messages[0].content[0]",
      /user messages take text, image_url, file and input_audio parts, not 'video_url'/,
    ],
    [
      "a part that is not an object",
      [{ role: "user", content: ["hello"] }] as never,
      "messages[0].content[0]",
      /must be a content part/,
    ],
    [
      "an image in a system message",
      [
        { role: "system", content: [{ type: "image_url", image_url: { url: PNG } }] },
        { role: "user", content: "x" },
      ] as never,
      "messages[0].content[0]",
      /system messages take only text parts, not 'image_url'\. Send images, files and audio in a user message/,
    ],
    [
      "a file in a developer message",
      [
        {
          role: "developer",
          content: [
            { type: "text", text: "a" },
            { type: "file", file: { file_id: "f" } },
          ],
        },
        { role: "user", content: "x" },
      ] as never,
      "messages[0].content[1]",
      /developer messages take only text parts/,
    ],
    [
      "an image in an assistant message",
      [
        { role: "user", content: "x" },
        { role: "assistant", content: [{ type: "image_url", image_url: { url: PNG } }] },
      ] as never,
      "messages[1].content[0]",
      /assistant messages take only text and refusal parts/,
    ],
    [
      "an image in a tool message",
      [
        { role: "user", content: "x" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "c1", content: [{ type: "image_url", image_url: { url: PNG } }] },
      ] as never,
      "messages[2].content[0]",
      /tool messages take only text parts, not 'image_url'\. Send images, files and audio in a user message after the tool message/,
    ],
  ];
  for (const [what, bad, param, message] of badShapes) {
    test(`${what} is a 400 naming the part, and nothing is sent`, async () => {
      const before = upstream.seen.length;
      const error = await refusal(client.chat.completions.create({ model: MODEL, messages: bad }));
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      const body = error.error as { type?: string; code?: string; param?: string };
      assert.equal(body.type, "invalid_request_error");
      assert.equal(body.code, "invalid_argument");
      assert.equal(body.param, param);
      assert.match(error.message, message);
      assert.equal(upstream.seen.length, before, "the upstream was not called");
    });
  }
});

describe("content parts on the Chat Completions route, to the mock provider", () => {
  test("the mock answers a request with an image and a file", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const answer = await client.chat.completions.create({
        model: "mock",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Describe these" },
              { type: "image_url", image_url: { url: PNG } },
              { type: "file", file: { file_data: PDF, filename: "a.pdf" } },
            ],
          },
        ],
      });
      assert.equal(answer.choices[0]?.message.content, 'You said: "Describe these" (2 words).');
    } finally {
      await close();
    }
  });
});
