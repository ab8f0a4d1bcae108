/**
 * Vercel AI SDK + Holdfast: the "Chatbot Message Persistence" pattern (createChat, loadChat,
 * saveChat in onFinish) with streamText. Offline: the model is the AI SDK's MockLanguageModelV3.
 *
 *   node_modules/.bin/node --conditions=holdfast-source examples/ai-sdk-chat.ts
 */
import {
  convertToModelMessages,
  generateId,
  simulateReadableStream,
  streamText,
  type UIMessage,
  validateUIMessages,
} from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { createStore } from "holdfast";
import { createChat, loadChat, saveChat } from "holdfast/adapters/ai-sdk";

const store = await createStore("memory:");
const tenant = "demo-tenant";

function model(reply: string): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doStream: async () => ({
      stream: simulateReadableStream({
        chunks: [
          { type: "text-start", id: "t" },
          { type: "text-delta", id: "t", delta: reply },
          { type: "text-end", id: "t" },
          {
            type: "finish",
            finishReason: { unified: "stop", raw: "stop" },
            usage: {
              inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
              outputTokens: { total: 1, text: 1, reasoning: undefined },
            },
          },
        ],
      }),
    }),
  });
}

/** What `app/api/chat/route.ts` does: load, append the new message, stream, save on finish. */
async function postChat(chatId: string, message: UIMessage, reply: string): Promise<void> {
  const messages = await validateUIMessages({
    messages: [...(await loadChat(store, tenant, chatId)), message],
  });
  const result = streamText({ model: model(reply), messages: await convertToModelMessages(messages) });
  const stream = result.toUIMessageStream({
    originalMessages: messages,
    generateMessageId: generateId,
    onFinish: ({ messages: all }) => saveChat(store, tenant, { chatId, messages: all }).then(() => {}),
  });
  for await (const _ of stream) {
    // A real route returns result.toUIMessageStreamResponse(...) instead of draining.
  }
}

try {
  const chatId = await createChat(store, tenant);
  await postChat(
    chatId,
    { id: generateId(), role: "user", parts: [{ type: "text", text: "Hi!" }] },
    "Hello!",
  );
  await postChat(
    chatId,
    { id: generateId(), role: "user", parts: [{ type: "text", text: "Bye" }] },
    "Goodbye!",
  );
  for (const message of await loadChat(store, tenant, chatId)) {
    const text = message.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
    console.log(`${message.role}: ${text}`);
  }
  console.log("ai-sdk-chat: ok");
} finally {
  await store.close();
}
