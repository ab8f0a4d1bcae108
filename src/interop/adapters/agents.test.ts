import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  Agent,
  type AgentInputItem,
  isSessionHistoryTransactionAwareSession,
  MemorySession,
  run,
  setTracingDisabled,
  tool,
} from "@openai/agents";
import { z } from "zod";
import type { SessionStore } from "../../store/types.ts";
import { createFakeModel } from "./agents/fake-model.ts";
import { createAgentsSession, EDIT_MARKER_TYPE, HoldfastAgentsSession } from "./agents.ts";
import { sessionIdFor } from "./session-ids.ts";
import { testStoreKinds } from "./test-stores.ts";

setTracingDisabled(true);

const user = (text: string): AgentInputItem => ({ role: "user", content: text });
const said = (text: string, id?: string): AgentInputItem =>
  ({
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text }],
    ...(id ? { id } : {}),
  }) as AgentInputItem;

for (const kind of testStoreKinds("agents")) {
  describe(`HoldfastAgentsSession on ${kind.name}`, () => {
    let store: SessionStore;
    before(async () => {
      store = await kind.open();
    });
    after(async () => {
      await store.close();
      await kind.cleanup();
    });

    it("carries a real two-turn Agent run with a function tool", async () => {
      const model = createFakeModel();
      const toolCalls: string[] = [];
      const getWeather = tool({
        name: "get_weather",
        description: "Weather for a city",
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          toolCalls.push(city);
          return `sunny in ${city}`;
        },
      });
      const agent = new Agent({ name: "assistant", instructions: "Be brief.", model, tools: [getWeather] });
      const session = createAgentsSession(store, "t1");
      assert.equal(isSessionHistoryTransactionAwareSession(session), true);

      const first = await run(agent, "What is the weather?", { session });
      assert.equal(first.finalOutput, "Weather report: sunny in Oslo");
      assert.deepEqual(toolCalls, ["Oslo"]);

      const second = await run(agent, "Thanks!", { session });
      assert.equal(second.finalOutput, "I have seen 2 user message(s).");
      // The second model call received turn one (call + output) from the store.
      const secondInput = model.calls.at(-1) as Array<Record<string, unknown>>;
      assert.ok(secondInput.some((item) => item.type === "function_call_result"));

      const items = (await session.getItems()) as Array<Record<string, unknown>>;
      assert.deepEqual(
        items.map((item) => `${item.type ?? "message"}:${item.role ?? ""}`),
        [
          "message:user",
          "function_call:",
          "function_call_result:",
          "message:assistant",
          "message:user",
          "message:assistant",
        ],
      );
      const id = await session.getSessionId();
      const stored = await store.get("t1", id);
      assert.equal(stored.itemCount, items.length);
      // Another adapter instance on the same id sees the same history.
      const again = new HoldfastAgentsSession({ store, tenant: "t1", sessionId: id });
      assert.deepEqual(await again.getItems(), items);
      assert.deepEqual(await again.getItems(2), items.slice(-2));
    });

    it("the SDK runner persists a guardrail-blocked tool output through applyHistoryTransaction", async () => {
      const getWeather = tool({
        name: "get_weather",
        description: "Weather for a city",
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => `sunny in ${city}`,
      });
      const agent = new Agent({
        name: "guarded",
        model: createFakeModel(),
        tools: [getWeather],
        toolUseBehavior: "stop_on_first_tool",
        outputGuardrails: [
          {
            name: "no-sun",
            execute: async ({ agentOutput }) => ({
              tripwireTriggered: String(agentOutput).includes("sunny"),
              outputInfo: null,
            }),
          },
        ],
      });
      const session = createAgentsSession(store, "t1");
      const transactions: string[] = [];
      const apply = session.applyHistoryTransaction.bind(session);
      session.applyHistoryTransaction = async (args) => {
        transactions.push(args.transaction.type);
        await apply(args);
        // A retried transaction (same operation id) must not write again.
        await apply(args);
      };
      await assert.rejects(run(agent, "What is the weather?", { session }), {
        name: "OutputGuardrailTripwireTriggered",
      });
      assert.deepEqual(transactions, ["append_items"]);
      const items = (await session.getItems()) as Array<Record<string, unknown>>;
      assert.deepEqual(
        items.map((item) => item.type),
        ["message", "function_call", "function_call_result"],
      );
      const raw = await store.readItems("t1", await session.getSessionId());
      assert.equal(raw.length, 3);
      assert.ok(!JSON.stringify(raw).includes("sunny"), "the blocked output never reaches the store");
    });

    it("round-trips items losslessly, including ids and untyped messages", async () => {
      const session = createAgentsSession(store, "t1");
      const input = [user("hi"), said("hello", "msg_123"), { ...user("again"), providerData: { x: [1, 2] } }];
      await session.addItems(input as AgentInputItem[]);
      assert.deepEqual(await session.getItems(), input);
      assert.deepEqual(await session.getItems(0), []);
      assert.deepEqual(await session.getItems(10), input);
    });

    it("getItems(limit) matches the SDK's MemorySession for undefined, NaN, fractional and ≤ 0 limits", async () => {
      const input = [user("a"), user("b"), user("c"), user("d")];
      const session = createAgentsSession(store, "t1", { pageSize: 2 });
      await session.addItems(input);
      const memory = new MemorySession({ initialItems: input });
      for (const limit of [undefined, Number.NaN, 0, -1, -0.5, 0.5, 1, 2.5, 4, 10, Infinity, -Infinity]) {
        assert.deepEqual(await session.getItems(limit), await memory.getItems(limit), `limit ${limit}`);
      }
      // Before: getItems(NaN) returned [] where MemorySession returns every item.
      assert.deepEqual(await session.getItems(Number.NaN), input);
    });

    it("accepts any SDK session id (UUIDs), mapped like the other adapters; conv_ ids stay", async () => {
      const uuid = randomUUID();
      const a = createAgentsSession(store, "t1", { sessionId: uuid });
      await a.addItems([user("hi")]); // before: a UUID was refused as an invalid session id
      assert.equal(await a.getSessionId(), `conv_${uuid}`);
      const b = createAgentsSession(store, "t1", { sessionId: uuid });
      assert.deepEqual(await b.getItems(), [user("hi")]);
      const odd = createAgentsSession(store, "t1", { sessionId: "user 42" });
      await odd.addItems([user("x")]);
      assert.equal(await odd.getSessionId(), sessionIdFor("user 42"));
      const held = createAgentsSession(store, "t1", { sessionId: await a.getSessionId() });
      assert.equal(await held.getSessionId(), `conv_${uuid}`);
      assert.throws(() => createAgentsSession(store, "t1", { sessionId: "" }), { code: "invalid_argument" });
    });

    it("clearSession on a session that does not exist creates nothing", async () => {
      const id = randomUUID();
      await createAgentsSession(store, "t-clear", { sessionId: id }).clearSession();
      await createAgentsSession(store, "t-clear").clearSession();
      assert.deepEqual((await store.list("t-clear")).data, []);
    });

    it("popItem hides the newest item and keeps it in the store", async () => {
      const session = createAgentsSession(store, "t1", { pageSize: 2 });
      await session.addItems([user("a"), user("b"), user("c")]);
      assert.deepEqual(await session.popItem(), user("c"));
      assert.deepEqual(await session.popItem(), user("b"));
      assert.deepEqual(await session.getItems(), [user("a")]);
      await session.addItems([user("d")]);
      assert.deepEqual(await session.getItems(), [user("a"), user("d")]);
      const raw = await store.readItems("t1", await session.getSessionId());
      assert.deepEqual(
        raw.map((item) => item.content.content ?? item.type),
        ["a", "b", "c", EDIT_MARKER_TYPE, EDIT_MARKER_TYPE, "d"],
      );
      await session.clearSession();
      assert.deepEqual(await session.getItems(), []);
      assert.equal(await session.popItem(), undefined);
      await session.addItems([user("e")]);
      assert.deepEqual(await session.getItems(), [user("e")]);
    });

    it("concurrent pops through two instances never return the same item", async () => {
      const a = createAgentsSession(store, "t1");
      await a.addItems([user("1"), user("2"), user("3"), user("4")]);
      const b = createAgentsSession(store, "t1", { sessionId: await a.getSessionId() });
      const popped = await Promise.all([a.popItem(), b.popItem(), a.popItem()]);
      const texts = popped.map((item) => (item as { content: string }).content).sort();
      assert.deepEqual(texts, ["2", "3", "4"]);
      assert.deepEqual(await b.getItems(), [user("1")]);
    });

    it("append_items transactions are idempotent by operationId", async () => {
      const session = createAgentsSession(store, "t1");
      const tx = { type: "append_items" as const, items: [user("x"), said("y", "msg_y")] };
      await session.applyHistoryTransaction({ operationId: "op:1", transaction: tx });
      await session.applyHistoryTransaction({ operationId: "op:1", transaction: structuredClone(tx) });
      assert.deepEqual(await session.getItems(), tx.items);
      await assert.rejects(
        session.applyHistoryTransaction({
          operationId: "op:1",
          transaction: { type: "append_items", items: [user("other")] },
        }),
        { code: "idempotency_conflict" },
      );
      assert.deepEqual(await session.getItems(), tx.items);
    });

    it("replace_suffix is a compare-and-swap, idempotent on retry", async () => {
      const session = createAgentsSession(store, "t1");
      await session.addItems([user("q"), said("draft", "msg_1")]);
      const tx = {
        type: "replace_suffix" as const,
        expectedSuffix: [said("draft", "msg_1")],
        // Same item id as the replaced one: the store's item ids are the adapter's, so this is fine.
        replacement: [said("final", "msg_1"), user("next")],
      };
      await session.applyHistoryTransaction({ operationId: "rs:1", transaction: tx });
      const afterFirst = await session.getItems();
      assert.deepEqual(afterFirst, [user("q"), said("final", "msg_1"), user("next")]);
      // A retry after success: the suffix no longer matches, yet the operation replays.
      await session.applyHistoryTransaction({ operationId: "rs:1", transaction: tx });
      assert.deepEqual(await session.getItems(), afterFirst);
      const sessionId = await session.getSessionId();
      const countBefore = (await store.get("t1", sessionId)).itemCount;
      // A stale precondition under a new operation id fails and writes nothing.
      await assert.rejects(session.applyHistoryTransaction({ operationId: "rs:2", transaction: tx }), {
        code: "conflict",
      });
      // The same operation id with a different expectation is an idempotency conflict.
      await assert.rejects(
        session.applyHistoryTransaction({
          operationId: "rs:1",
          transaction: { ...tx, expectedSuffix: [user("next")] },
        }),
        { code: "idempotency_conflict" },
      );
      assert.equal((await store.get("t1", sessionId)).itemCount, countBefore);
    });

    it("replace_suffix loses against a concurrent append instead of overwriting it", async () => {
      const session = createAgentsSession(store, "t1");
      await session.addItems([user("q"), said("draft")]);
      const other = createAgentsSession(store, "t1", { sessionId: await session.getSessionId() });
      await other.addItems([user("late")]);
      await assert.rejects(
        session.applyHistoryTransaction({
          operationId: "rs:late",
          transaction: { type: "replace_suffix", expectedSuffix: [said("draft")], replacement: [said("x")] },
        }),
        { code: "conflict" },
      );
      assert.deepEqual(await session.getItems(), [user("q"), said("draft"), user("late")]);
    });

    it("validates options and reserved item types", async () => {
      assert.throws(() => new HoldfastAgentsSession({ store, tenant: "" }), { code: "invalid_argument" });
      assert.throws(() => createAgentsSession(store, "t1", { pageSize: 0 }), /pageSize/);
      const session = createAgentsSession(store, "t1");
      await assert.rejects(
        session.addItems([{ type: EDIT_MARKER_TYPE } as unknown as AgentInputItem]),
        /reserved/,
      );
    });
  });
}
