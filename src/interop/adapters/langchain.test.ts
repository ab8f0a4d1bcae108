import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  AIMessage,
  HumanMessage,
  mapChatMessagesToStoredMessages,
  SystemMessage,
  ToolMessage,
} from "@langchain/core/messages";
import { ChatPromptTemplate, MessagesPlaceholder } from "@langchain/core/prompts";
import { RunnableWithMessageHistory } from "@langchain/core/runnables";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import type { SessionStore } from "../../store/types.ts";
import { EDIT_MARKER_TYPE } from "./edit-log.ts";
import { HoldfastChatMessageHistory } from "./langchain.ts";
import { testStoreKinds } from "./test-stores.ts";

for (const kind of testStoreKinds("langchain")) {
  describe(`HoldfastChatMessageHistory on ${kind.name}`, () => {
    let store: SessionStore;
    before(async () => {
      store = await kind.open();
    });
    after(async () => {
      await store.close();
      await kind.cleanup();
    });

    it("round-trips human, AI (with tool calls), tool and system messages", async () => {
      const history = new HoldfastChatMessageHistory({ store, tenant: "t" });
      const messages = [
        new SystemMessage("Be brief."),
        new HumanMessage({ content: "Weather in Oslo?", id: "h1" }),
        new AIMessage({
          content: "",
          tool_calls: [{ id: "call_1", name: "weather", args: { city: "Oslo" }, type: "tool_call" }],
        }),
        new ToolMessage({ content: "3 C", tool_call_id: "call_1", name: "weather" }),
        new AIMessage({
          content: [{ type: "text", text: "It is 3 °C." }],
          response_metadata: { model: "x" },
        }),
      ];
      await history.addMessages(messages);
      const loaded = await history.getMessages();
      assert.deepEqual(mapChatMessagesToStoredMessages(loaded), mapChatMessagesToStoredMessages(messages));
      assert.ok(loaded[3] instanceof ToolMessage);
      assert.equal((loaded[3] as ToolMessage).tool_call_id, "call_1");
      assert.deepEqual((loaded[2] as AIMessage).tool_calls?.[0]?.args, { city: "Oslo" });

      // Stored as readable Responses items, plus LangChain's own form.
      const raw = await store.readItems("t", await history.getSessionId());
      assert.deepEqual(
        raw.map((item) => [item.type, item.role]),
        [
          ["message", "system"],
          ["message", "user"],
          ["message", "assistant"],
          ["langchain_message", null],
          ["message", "assistant"],
        ],
      );
      assert.deepEqual(raw[4]?.content.content, [{ type: "output_text", text: "It is 3 °C." }]);
    });

    it("a second instance on the same id sees the history; clear hides it but keeps it stored", async () => {
      const a = new HoldfastChatMessageHistory({ store, tenant: "t", sessionId: "user-42-chat" });
      await a.addUserMessage("hi");
      await a.addAIMessage("hello");
      const b = new HoldfastChatMessageHistory({ store, tenant: "t", sessionId: await a.getSessionId() });
      assert.deepEqual(
        (await b.getMessages()).map((m) => m.content),
        ["hi", "hello"],
      );
      assert.equal(await a.getSessionId(), "conv_user-42-chat");
      await b.clear();
      assert.deepEqual(await a.getMessages(), []);
      await a.addMessage(new HumanMessage("again"));
      assert.deepEqual(
        (await b.getMessages()).map((m) => m.content),
        ["again"],
      );
      const raw = await store.readItems("t", "conv_user-42-chat");
      assert.deepEqual(
        raw.map((i) => i.type),
        ["message", "message", EDIT_MARKER_TYPE, "message"],
      );
    });

    it("clear() on a history that was never used creates no session", async () => {
      // Before: clear() created the session (and then found nothing to hide).
      await new HoldfastChatMessageHistory({ store, tenant: "t-clear", sessionId: "never-used" }).clear();
      await new HoldfastChatMessageHistory({ store, tenant: "t-clear" }).clear();
      assert.deepEqual((await store.list("t-clear")).data, []);
      const used = new HoldfastChatMessageHistory({ store, tenant: "t-clear", sessionId: "never-used" });
      await used.addUserMessage("hi");
      await new HoldfastChatMessageHistory({ store, tenant: "t-clear", sessionId: "never-used" }).clear();
      assert.deepEqual(await used.getMessages(), []);
    });

    it("works with RunnableWithMessageHistory over two turns", async () => {
      const model = new FakeListChatModel({ responses: ["Hello Ada.", "Your name is Ada."] });
      const prompt = ChatPromptTemplate.fromMessages([
        ["system", "You are helpful."],
        new MessagesPlaceholder("history"),
        ["human", "{input}"],
      ]);
      const histories = new Map<string, HoldfastChatMessageHistory>();
      const chain = new RunnableWithMessageHistory({
        runnable: prompt.pipe(model),
        getMessageHistory: (sessionId: string) => {
          const history = new HoldfastChatMessageHistory({ store, tenant: "t", sessionId });
          histories.set(sessionId, history);
          return history;
        },
        inputMessagesKey: "input",
        historyMessagesKey: "history",
      });
      const config = { configurable: { sessionId: "runnable-chat-1" } };
      await chain.invoke({ input: "I am Ada." }, config);
      const second = await chain.invoke({ input: "What is my name?" }, config);
      assert.equal(second.content, "Your name is Ada.");
      const stored = await new HoldfastChatMessageHistory({
        store,
        tenant: "t",
        sessionId: "runnable-chat-1",
      }).getMessages();
      assert.deepEqual(
        stored.map((m) => [m.getType(), m.content]),
        [
          ["human", "I am Ada."],
          ["ai", "Hello Ada."],
          ["human", "What is my name?"],
          ["ai", "Your name is Ada."],
        ],
      );
    });

    it("validates its options", () => {
      assert.throws(() => new HoldfastChatMessageHistory({ store, tenant: "" }), {
        code: "invalid_argument",
      });
      assert.throws(
        () => new HoldfastChatMessageHistory({ store: {} as SessionStore, tenant: "t" }),
        /store/,
      );
    });
  });
}
