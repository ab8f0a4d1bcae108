/**
 * Chat `messages[i].name` (OpenAI: an optional string on system, developer, user and assistant
 * messages, "to differentiate between participants of the same role"). It used to be dropped
 * unchecked: `name: 5` answered 200, and a string name never reached a Chat Completions upstream.
 * A user or assistant message's name is now kept with its item (in the Holdfast marker, so the
 * item keeps its Responses shape) and sent to Chat Completions upstreams, in later turns too; a
 * Responses upstream, which has no such field, never sees it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { BadRequestError } from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat";
import { createStore } from "../store/create-store.ts";
import { type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";
import {
  type FakeResponsesUpstream,
  fakeAnswerMessage,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

describe("Chat messages[i].name", () => {
  let chat: FakeChatUpstream;
  let responses: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    chat = await startFakeChatUpstream(() => ({ content: "noted" }));
    responses = await startFakeResponsesUpstream((n) => [fakeAnswerMessage(n)]);
    ({ client, close } = await openSdkGateway(await createStore("memory:"), {
      providers: [
        { name: "chat", type: "openai-chat", baseUrl: chat.baseUrl },
        { name: "resp", type: "openai-responses", baseUrl: responses.baseUrl },
      ],
    }));
  });
  after(async () => {
    await close();
    await chat.close();
    await responses.close();
  });

  test("a name that is not a non-empty string is a 400 naming messages[i].name", async () => {
    const cases: [ChatCompletionMessageParam[], string][] = [
      [[{ role: "user", content: "hi", name: 5 as unknown as string }], "messages[0].name"],
      [
        [
          { role: "system", content: "be brief", name: "" },
          { role: "user", content: "hi" },
        ],
        "messages[0].name",
      ],
      [
        [
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello", name: { first: "a" } as unknown as string },
        ],
        "messages[1].name",
      ],
      [[{ role: "developer", content: "x", name: null as unknown as string }], "messages[0].name"],
    ];
    for (const [messages, param] of cases) {
      for (const stream of [false, true]) {
        await assert.rejects(
          client.chat.completions.create({ model: "chat/m", messages, stream }),
          (error) => {
            assert.ok(error instanceof BadRequestError, String(error));
            assert.equal(error.code, "invalid_argument");
            assert.equal(error.param, param);
            assert.match(error.message, /must be a non-empty string/);
            return true;
          },
        );
      }
    }
    assert.equal(chat.seen.length, 0, "nothing reached the upstream");
  });

  test("user and assistant names reach a Chat Completions upstream, in later turns too", async () => {
    const conv = await client.conversations.create();
    const headers = { "Holdfast-Conversation": conv.id };
    const before = chat.seen.length;
    await client.chat.completions.create(
      {
        model: "chat/m",
        messages: [
          { role: "user", content: "I am Ada.", name: "ada" },
          { role: "assistant", content: "Hello Ada.", name: "helper" },
          { role: "user", content: "And I am Bob.", name: "bob" },
        ],
      },
      { headers },
    );
    await client.chat.completions.create(
      { model: "chat/m", messages: [{ role: "user", content: "Who spoke first?" }] },
      { headers },
    );
    const sent = chat.seen.slice(before).map((body) => body.messages as Record<string, unknown>[]);
    const expected = [
      { role: "user", content: "I am Ada.", name: "ada" },
      { role: "assistant", content: "Hello Ada.", name: "helper" },
      { role: "user", content: "And I am Bob.", name: "bob" },
    ];
    assert.deepEqual(sent[0], expected);
    assert.deepEqual(sent[1], [
      ...expected,
      { role: "assistant", content: "noted" },
      { role: "user", content: "Who spoke first?" },
    ]);

    // Kept in the Holdfast marker, beside the item's Responses shape.
    const items = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.deepEqual((items.data[0] as unknown as Record<string, unknown>).holdfast, { name: "ada" });

    // A Responses upstream has no `name` on messages: the history goes there without it.
    const seen = responses.seen.length;
    await client.responses.create({ model: "resp/m", input: "Go on.", conversation: conv.id });
    const input = responses.seen[seen]?.input as Record<string, unknown>[];
    assert.equal(input.length, 7, "the two chat turns' four messages, their two answers and the new one");
    for (const item of input) {
      assert.ok(!("name" in item) || item.type !== "message", JSON.stringify(item));
      assert.ok(!("holdfast" in item), JSON.stringify(item));
    }
  });

  test("Responses input carries it as listed, holdfast.name: checked, and sent to a chat upstream", async () => {
    const message = (name: unknown) => ({ role: "user", content: "hi", holdfast: { name } });
    await assert.rejects(
      client.responses.create({ model: "chat/m", input: [message(5)] } as never),
      (error) => {
        assert.ok(error instanceof BadRequestError, String(error));
        assert.equal(error.param, "input[0].holdfast.name");
        return true;
      },
    );
    const before = chat.seen.length;
    await client.responses.create({ model: "chat/m", input: [message("ada")] } as never);
    assert.deepEqual(chat.seen[before]?.messages, [{ role: "user", content: "hi", name: "ada" }]);
  });
});
