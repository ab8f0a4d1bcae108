/**
 * The turn engine accounts the summarizer calls of a turn's compaction: on the turn's record
 * (apart from its own usage), to `onCompaction` once (stored or, when the turn failed after
 * compacting, not), to the caller's token budget (`onSpent`), estimated when the upstream reported
 * no usage, priced at the target that served them. A replay reports nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import { DelegatingStore } from "../../store/decorators/delegating-store.ts";
import { UnavailableError } from "../../store/errors.ts";
import type { AppendOptions, AppendResult, ItemInput, SessionStore } from "../../store/types.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { createMockProvider } from "../providers/mock.ts";
import type { TurnRequest, TurnResult, Usage } from "../providers/types.ts";
import type { CompactionSpend } from "./compaction-spend.ts";
import { longConversation } from "./long-conversation-test-support.ts";
import { RECORD_TYPE, type ResponseRecord } from "./record.ts";
import { TurnEngine } from "./turn-engine.ts";
import type { FinishedTurn, ModelInvoker, OnServed } from "./turn-types.ts";
import { conversationUsage } from "./usage.ts";

const SUMMARY = '{"goal":"g","decisions":[],"facts":["f"],"open_items":[],"recent_context":"r"}';
const isSummarizer = (request: TurnRequest): boolean => !!request.instructions?.startsWith("You compact");

interface Options {
  /** The summarizer's reported usage; zeros: reported none. */
  summaryUsage?: Usage;
  /** The summarizer answers nothing (an answer filtered away). */
  summaryEmpty?: boolean;
  /** How a turn's own call answers. */
  turn?: (request: TurnRequest) => Promise<TurnResult>;
}

function invoker(options: Options = {}): ModelInvoker & { summarizerCalls: number } {
  const provider = createMockProvider();
  const self = {
    summarizerCalls: 0,
    describe: () => ({ ...getDefaultCatalog().get("mock"), contextWindow: 1000, maxOutputTokens: 100 }),
    complete: async (request: TurnRequest, onServed?: OnServed): Promise<TurnResult> => {
      if (!isSummarizer(request)) {
        onServed?.({ provider: "main", model: "turn-model" });
        return options.turn ? options.turn(request) : provider.complete(request);
      }
      self.summarizerCalls++;
      onServed?.({ provider: "cheap", model: "summary-model" });
      return {
        id: "r",
        model: "",
        output: options.summaryEmpty
          ? []
          : [{ type: "message", role: "assistant", content: [{ type: "output_text", text: SUMMARY }] }],
        usage: options.summaryUsage ?? { input_tokens: 300, output_tokens: 40, cached_tokens: 100 },
        status: "completed",
        finish_reason: "stop",
      } as TurnResult;
    },
    stream: (request: TurnRequest) => provider.stream(request),
    // Per token: the summarizer's model at 1 µ$, any other at 1 m$ (a price at the wrong model shows).
    cost: (_requested: string, usage: Usage, served?: { model: string }) =>
      (usage.input_tokens + usage.output_tokens) * (served?.model === "summary-model" ? 1e-6 : 1e-3),
  };
  return self;
}

function engineWith(store: SessionStore, inv: ModelInvoker, spends: CompactionSpend[]): TurnEngine {
  return new TurnEngine({
    store,
    invoker: inv,
    reserveTokens: 0,
    compaction: { threshold: 0.5 },
    onCompaction: (spend) => spends.push(spend),
  });
}

describe("compaction spend", () => {
  it("is on the turn's record, in the ledger, told once and to the token budget; a replay adds nothing", async () => {
    const store = await createStore("memory:");
    const inv = invoker();
    const spends: CompactionSpend[] = [];
    const engine = engineWith(store, inv, spends);
    const id = await longConversation(store);
    const spent: number[] = [];
    const ctx = { idempotencyKey: "k", onSpent: (u: Usage) => spent.push(u.input_tokens + u.output_tokens) };
    const body = { model: "mock", input: "hi", conversation: id };
    const response = await engine.respond("t", body, ctx);
    const calls = inv.summarizerCalls;
    assert.ok(calls > 0, "the turn compacted first");

    const items = await store.readItems("t", id, { limit: 1000 });
    const record = items.find((i) => i.type === RECORD_TYPE)!.content as unknown as ResponseRecord;
    assert.deepEqual(record.compaction, {
      calls,
      model: "summary-model",
      served_by: { provider: "cheap", model: "summary-model" },
      input_tokens: 300 * calls,
      output_tokens: 40 * calls,
      cached_tokens: 100 * calls,
      cost_usd: record.compaction?.cost_usd,
    });
    assert.ok(
      Math.abs((record.compaction?.cost_usd ?? 0) - 340e-6 * calls) < 1e-12,
      "priced at summary-model",
    );
    // The turn's own usage (and the Responses usage) leave it out.
    assert.equal((response.usage as { input_tokens: number }).input_tokens, record.usage.input_tokens);
    assert.equal(record.usage.input_tokens < 300, true);

    assert.equal(spends.length, 1);
    assert.equal(spends[0]?.stored, true);
    assert.equal(spends[0]?.calls, calls);
    assert.equal(spends[0]?.responseId, response.id);
    assert.equal(spends[0]?.usage.input_tokens, 300 * calls);
    assert.equal(spent.length, 2, "the token budget is told of the turn's call and of its compaction");
    assert.equal(spent[1], 340 * calls);

    const ledger = await conversationUsage(store, "t", id);
    assert.equal(ledger.turns[0]?.compaction?.calls, calls);
    assert.equal(ledger.total.compaction.input_tokens, 300 * calls);
    assert.equal(ledger.total.input_tokens, record.usage.input_tokens + 300 * calls);

    await engine.respond("t", body, ctx);
    assert.equal(spends.length, 1, "a replay reports no compaction");
    assert.equal(spent.length, 2, "nor any spend");
    assert.deepEqual(await conversationUsage(store, "t", id), ledger);
  });

  it("is estimated when the upstream reported no usage for a summarizer call", async () => {
    const store = await createStore("memory:");
    const inv = invoker({ summaryUsage: { input_tokens: 0, output_tokens: 0, cached_tokens: 0 } });
    const spends: CompactionSpend[] = [];
    const id = await longConversation(store);
    await engineWith(store, inv, spends).respond("t", { model: "mock", input: "hi", conversation: id });
    const spend = spends[0]!;
    assert.equal(spend.usage.estimated, true);
    assert.ok(spend.usage.input_tokens > 400, `${spend.usage.input_tokens}: the notes it was sent`);
    assert.ok(spend.usage.output_tokens > 0);
    assert.ok((spend.costUsd ?? 0) > 0);
  });

  it("counts the input of a summarizer call that answered nothing and reported no usage", async () => {
    // It used to count 0: only a call with output had its input estimated, yet any call answered
    // was billed its prompt.
    const store = await createStore("memory:");
    const inv = invoker({
      summaryEmpty: true,
      summaryUsage: { input_tokens: 0, output_tokens: 0, cached_tokens: 0 },
    });
    const spends: CompactionSpend[] = [];
    const id = await longConversation(store);
    await engineWith(store, inv, spends).respond("t", { model: "mock", input: "hi", conversation: id });
    const spend = spends[0]!;
    assert.equal(spend.usage.estimated, true);
    assert.ok(spend.usage.input_tokens > 400, `${spend.usage.input_tokens}: the notes it was sent`);
    assert.equal(spend.usage.output_tokens, 0);
    assert.ok((spend.costUsd ?? 0) > 0);
  });

  it("of a turn that failed after compacting is still told, as not stored", async () => {
    const store = await createStore("memory:");
    const down = Object.assign(new Error("upstream down"), { code: "upstream_error" });
    const inv = invoker({ turn: async () => Promise.reject(down) });
    const spends: CompactionSpend[] = [];
    const spent: number[] = [];
    const id = await longConversation(store);
    await assert.rejects(
      engineWith(store, inv, spends).respond(
        "t",
        { model: "mock", input: "hi", conversation: id },
        { onSpent: (u) => spent.push(u.input_tokens + u.output_tokens) },
      ),
    );
    assert.ok(inv.summarizerCalls > 0);
    assert.equal(spends.length, 1);
    assert.equal(spends[0]?.stored, false);
    assert.deepEqual(spent, [340 * inv.summarizerCalls]);
  });

  it("of a turn whose commit a store outage lost is told once, as not stored, with the turn's own call", async () => {
    /** Unavailable for the turn's final append (its record): the answer is lost after the model ran. */
    class LosingStore extends DelegatingStore {
      override append(
        tenant: string,
        id: string,
        items: ItemInput[],
        options?: AppendOptions,
      ): Promise<AppendResult> {
        if (items.some((i) => i.content.type === RECORD_TYPE))
          return Promise.reject(new UnavailableError("Redis is unavailable."));
        return super.append(tenant, id, items, options);
      }
    }
    const store = new LosingStore(await createStore("memory:"));
    const inv = invoker();
    const spends: CompactionSpend[] = [];
    const turns: FinishedTurn[] = [];
    const id = await longConversation(store);
    const engine = new TurnEngine({
      store,
      invoker: inv,
      reserveTokens: 0,
      compaction: { threshold: 0.5 },
      onCompaction: (spend) => spends.push(spend),
      onTurn: (turn) => turns.push(turn),
    });
    await assert.rejects(engine.respond("t", { model: "mock", input: "hi", conversation: id }), {
      code: "unavailable",
    });
    assert.ok(inv.summarizerCalls > 0);
    assert.deepEqual(
      spends.map((s) => [s.stored, s.calls]),
      [[false, inv.summarizerCalls]],
    );
    assert.deepEqual(
      turns.map((t) => [t.stored, t.model, (t.costUsd ?? 0) > 0]),
      [[false, "mock", true]],
    );
  });

  it("of overflow recovery is on the turn's record too", async () => {
    const store = await createStore("memory:");
    let overflowOnce = true;
    const provider = createMockProvider();
    const inv = invoker({
      turn: async (request) => {
        if (overflowOnce) {
          overflowOnce = false;
          throw Object.assign(new Error("maximum context length exceeded"), {
            code: "context_length_exceeded",
          });
        }
        return provider.complete(request);
      },
    });
    const spends: CompactionSpend[] = [];
    const id = await longConversation(store);
    // Automatic compaction off its threshold: only the overflow compacts.
    const engine = new TurnEngine({
      store,
      invoker: inv,
      reserveTokens: 0,
      compaction: { threshold: 1 },
      onCompaction: (spend) => spends.push(spend),
    });
    await engine.respond("t", { model: "mock", input: "hi", conversation: id, truncation: "auto" });
    assert.equal(overflowOnce, false);
    assert.ok(inv.summarizerCalls > 0);
    const ledger = await conversationUsage(store, "t", id);
    assert.equal(ledger.turns[0]?.compaction?.calls, inv.summarizerCalls);
    assert.equal(spends[0]?.stored, true);
  });
});
