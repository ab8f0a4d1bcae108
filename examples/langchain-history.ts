/**
 * LangChain.js + Holdfast: RunnableWithMessageHistory over a HoldfastChatMessageHistory.
 * Offline: the model is LangChain's FakeListChatModel.
 *
 *   node_modules/.bin/node --conditions=holdfast-source examples/langchain-history.ts
 */
import { ChatPromptTemplate, MessagesPlaceholder } from "@langchain/core/prompts";
import { RunnableWithMessageHistory } from "@langchain/core/runnables";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { createStore } from "holdfast";
import { HoldfastChatMessageHistory } from "holdfast/adapters/langchain";

const store = await createStore("memory:");
try {
  const prompt = ChatPromptTemplate.fromMessages([
    ["system", "You are helpful."],
    new MessagesPlaceholder("history"),
    ["human", "{input}"],
  ]);
  const chain = new RunnableWithMessageHistory({
    runnable: prompt.pipe(new FakeListChatModel({ responses: ["Nice to meet you, Ada.", "You are Ada."] })),
    getMessageHistory: (sessionId: string) =>
      new HoldfastChatMessageHistory({ store, tenant: "demo-tenant", sessionId }),
    inputMessagesKey: "input",
    historyMessagesKey: "history",
  });
  const config = { configurable: { sessionId: "user-42" } };
  await chain.invoke({ input: "I am Ada." }, config);
  const answer = await chain.invoke({ input: "Who am I?" }, config);
  console.log(`answer: ${answer.content}`);
  const history = new HoldfastChatMessageHistory({ store, tenant: "demo-tenant", sessionId: "user-42" });
  for (const message of await history.getMessages()) console.log(`${message.getType()}: ${message.content}`);
  console.log("langchain-history: ok");
} finally {
  await store.close();
}
