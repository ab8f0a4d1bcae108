import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  convertToModelMessages,
  generateId,
  simulateReadableStream,
  streamText,
  type UIMessage,
  validateUIMessages,
} from "ai";
import { MockLanguageModelV3 } from "ai/test";
import type { SessionStore } from "../../store/types.ts";
import { createChat, loadChat, saveChat } from "./ai-sdk.ts";
import { EDIT_MARKER_TYPE } from "./edit-log.ts";
import { testStoreKinds } from "./test-stores.ts";

function mockModel(reply: string): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doStream: async () => ({
      stream: simulateReadableStream({
        chunks: [
          { type: "stream-start", warnings: [] },
          { type: "text-start", id: "t" },
          ...reply
            .split(" ")
            .map((word, i) => ({ type: "text-delta" as const, id: "t", delta: i ? ` ${word}` : word })),
          { type: "text-end", id: "t" },
          {
            type: "finish",
            finishReason: { unified: "stop", raw: "stop" },
            usage: {
              inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
              outputTokens: { total: 2, text: 2, reasoning: undefined },
            },
          },
        ],
      }),
    }),
  });
}

const userMessage = (text: string): UIMessage => ({
  id: generateId(),
  role: "user",
  parts: [{ type: "text", text }],
});

/** The server side of the guide: load, append the new message, stream, save in onFinish. */
async function chatRoute(
  store: SessionStore,
  chatId: string,
  message: UIMessage,
  reply: string,
): Promise<void> {
  const previous = await loadChat(store, "t", chatId);
  const messages = await validateUIMessages({ messages: [...previous, message] });
  const result = streamText({ model: mockModel(reply), messages: await convertToModelMessages(messages) });
  const stream = result.toUIMessageStream({
    originalMessages: messages,
    generateMessageId: generateId,
    onFinish: async ({ messages: all }) => {
      await saveChat(store, "t", { chatId, messages: all });
    },
  });
  for await (const _chunk of stream) {
    // Drain, as the HTTP response would.
  }
}

for (const kind of testStoreKinds("aisdk")) {
  describe(`AI SDK chat persistence on ${kind.name}`, () => {
    let store: SessionStore;
    before(async () => {
      store = await kind.open();
    });
    after(async () => {
      await store.close();
      await kind.cleanup();
    });

    it("persists a two-turn streamText chat and loads valid UIMessages", async () => {
      const chatId = await createChat(store, "t");
      assert.deepEqual(await loadChat(store, "t", chatId), []);
      await chatRoute(store, chatId, userMessage("hello"), "Hi there");
      await chatRoute(store, chatId, userMessage("how are you"), "Fine thanks");
      const messages = await loadChat(store, "t", chatId);
      assert.deepEqual(await validateUIMessages({ messages }), messages);
      assert.deepEqual(
        messages.map((m) => [
          m.role,
          m.parts
            .filter((p) => p.type === "text")
            .map((p) => p.text)
            .join(""),
        ]),
        [
          ["user", "hello"],
          ["assistant", "Hi there"],
          ["user", "how are you"],
          ["assistant", "Fine thanks"],
        ],
      );
      // Only new messages were appended: 4 items, no markers.
      const session = await store.get("t", chatId);
      assert.equal(session.itemCount, 4);
      // Each item also reads as a plain Responses message (for the gateway, exports, dashboard).
      const raw = await store.readItems("t", chatId);
      assert.deepEqual(
        raw.map((i) => (i.content.content as Array<{ text: string }>)[0]?.text),
        ["hello", "Hi there", "how are you", "Fine thanks"],
      );
    });

    it("stores UIMessages losslessly, metadata and tool parts included", async () => {
      const chatId = generateId();
      const messages = [
        { id: "u1", role: "user", parts: [{ type: "text", text: "weather?" }], metadata: { at: 1 } },
        {
          id: "a1",
          role: "assistant",
          parts: [
            { type: "step-start" },
            {
              type: "tool-weather",
              toolCallId: "call_1",
              state: "output-available",
              input: { city: "Oslo" },
              output: { temp: 3, unit: "C" },
            },
            { type: "text", text: "3 °C", state: "done" },
          ],
        },
      ] as UIMessage[];
      const result = await saveChat(store, "t", { chatId, messages });
      assert.deepEqual([result.appended, result.replaced], [2, 0]);
      assert.deepEqual(await loadChat(store, "t", chatId), messages);
      assert.deepEqual(await saveChat(store, "t", { chatId, messages }), { ...result, appended: 0 });
    });

    it("a regenerated answer hides the old one without deleting it", async () => {
      const chatId = await createChat(store, "t");
      const u = userMessage("pick a number");
      const first: UIMessage = { id: "a-first", role: "assistant", parts: [{ type: "text", text: "4" }] };
      await saveChat(store, "t", { chatId, messages: [u, first] });
      const second: UIMessage = { id: "a-second", role: "assistant", parts: [{ type: "text", text: "7" }] };
      const result = await saveChat(store, "t", { chatId, messages: [u, second] });
      assert.deepEqual([result.appended, result.replaced], [1, 1]);
      assert.deepEqual(await loadChat(store, "t", chatId), [u, second]);
      const raw = await store.readItems("t", chatId);
      assert.deepEqual(
        raw.map((i) => i.type),
        ["message", "message", EDIT_MARKER_TYPE, "message"],
      );
    });

    it("concurrent saves of growing lists never interleave", async () => {
      const chatId = await createChat(store, "t");
      const base = [userMessage("a")];
      await saveChat(store, "t", { chatId, messages: base });
      const lists = [1, 2, 3, 4].map((n) => [
        ...base,
        ...[...Array(n)].map((_, i) => userMessage(`m${n}.${i}`)),
      ]);
      await Promise.all(lists.map((messages) => saveChat(store, "t", { chatId, messages })));
      const loaded = await loadChat(store, "t", chatId);
      // The result is exactly one of the saved lists, never a mix.
      assert.ok(lists.some((list) => JSON.stringify(list) === JSON.stringify(loaded)));
    });

    it("rejects what is not a UIMessage list", async () => {
      await assert.rejects(saveChat(store, "t", { chatId: "x1234567", messages: "no" as never }), {
        code: "invalid_argument",
      });
      await assert.rejects(
        saveChat(store, "t", { chatId: "x1234567", messages: [{ role: "user" } as never] }),
        { code: "invalid_argument" },
      );
      await assert.rejects(loadChat(store, "t", "nope12345"), { code: "not_found" });
    });
  });
}
