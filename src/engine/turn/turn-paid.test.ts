/**
 * `onTurn` (what spend caps and metrics count) hears of every model call a turn paid for exactly
 * once, whatever became of its commit: stored, stored as a record-only `failed` turn, or not
 * stored at all (a store outage, a store refusing both the answer and the record) — the last two
 * used to be told nothing although the provider charged for the call. Turns cut short (client
 * gone, upstream failing mid-stream) are told once too; a replay never.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import { DelegatingStore } from "../../store/decorators/delegating-store.ts";
import { HoldfastError, UnavailableError } from "../../store/errors.ts";
import type { AppendOptions, AppendResult, ItemInput } from "../../store/types.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { createMockProvider } from "../providers/mock.ts";
import { StreamTracker } from "../providers/output.ts";
import type { TurnEvent } from "../providers/types.ts";
import { TurnEngine } from "./turn-engine.ts";
import type { FinishedTurn, ModelInvoker } from "./turn-types.ts";

/** Refuses the appends holding a response record, as many times as `refusals` still lists errors. */
class RefusingStore extends DelegatingStore {
  refusals: HoldfastError[] = [];

  override append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const refusal = items.some((i) => i.content.type === "response_record")
      ? this.refusals.shift()
      : undefined;
    if (refusal) return Promise.reject(refusal);
    return super.append(tenant, id, items, options);
  }
}

/** The mock provider; its streams fail after `cutAfter` events when set. */
function invoker(cutAfter?: number): ModelInvoker {
  const provider = createMockProvider();
  return {
    describe: () => ({ ...getDefaultCatalog().get("mock"), contextWindow: 100_000, maxOutputTokens: 100 }),
    complete: (request) => provider.complete(request),
    stream: async function* (request): AsyncGenerator<TurnEvent> {
      const tracker = new StreamTracker();
      let n = 0;
      for await (const event of provider.stream(request)) {
        if (cutAfter !== undefined && n++ === cutAfter) {
          yield {
            type: "error",
            error: new HoldfastError("upstream_error", "cut"),
            partial: tracker.partial("mock"),
          };
          return;
        }
        tracker.push(event);
        yield event;
      }
    },
    cost: (_model, usage) => usage.input_tokens + usage.output_tokens,
  };
}

async function setup(cutAfter?: number) {
  const store = new RefusingStore(await createStore("memory:"));
  const turns: FinishedTurn[] = [];
  const engine = new TurnEngine({
    store,
    invoker: invoker(cutAfter),
    reserveTokens: 0,
    compaction: false,
    onTurn: (turn) => turns.push(turn),
  });
  const conversation = (await store.create("t")).id;
  return { store, engine, turns, conversation };
}

/** What `onTurn` was told, without the usage details: one entry per call it heard of. */
const told = (turns: FinishedTurn[]) =>
  turns.map((t) => ({ stored: t.stored, paid: (t.costUsd ?? 0) > 0 && t.usage.output_tokens > 0 }));

describe("onTurn: every paid model call once", () => {
  it("a commit lost to a store outage: told once, not stored; the replay of a later answer not at all", async () => {
    const { store, engine, turns, conversation } = await setup();
    store.refusals = [new UnavailableError("Redis is unavailable.")];
    const body = { model: "mock", input: "hello", conversation };
    await assert.rejects(engine.respond("t", body, { idempotencyKey: "k" }), { code: "unavailable" });
    assert.deepEqual(told(turns), [{ stored: false, paid: true }]);
    // The retry runs the turn again (a second paid call); replaying its answer calls no model.
    await engine.respond("t", body, { idempotencyKey: "k" });
    await engine.respond("t", body, { idempotencyKey: "k" });
    assert.deepEqual(told(turns), [
      { stored: false, paid: true },
      { stored: true, paid: true },
    ]);
  });

  it("a store refusing the answer and then the record: told once, not stored", async () => {
    const { store, engine, turns, conversation } = await setup();
    store.refusals = [new HoldfastError("internal", "disk full"), new HoldfastError("internal", "disk full")];
    await assert.rejects(engine.respond("t", { model: "mock", input: "hello", conversation }), {
      code: "internal",
    });
    assert.deepEqual(told(turns), [{ stored: false, paid: true }]);
  });

  it("a store refusing the answer but taking the record: told once, stored", async () => {
    const { store, engine, turns, conversation } = await setup();
    store.refusals = [new HoldfastError("payload_too_large", "item 0 is too large")];
    await assert.rejects(engine.respond("t", { model: "mock", input: "hello", conversation }), {
      code: "payload_too_large",
    });
    assert.deepEqual(told(turns), [{ stored: true, paid: true }]);
  });

  it("a stream failing mid-way upstream: told once, stored as incomplete", async () => {
    const { engine, turns, conversation } = await setup(3);
    const events: string[] = [];
    for await (const event of engine.respondStream("t", {
      model: "mock",
      input: "hello",
      conversation,
      stream: true,
    }))
      events.push(event.type === "failed" ? `failed:${String(event.response.status)}` : event.type);
    assert.equal(events.at(-1), "failed:incomplete");
    assert.deepEqual(told(turns), [{ stored: true, paid: true }]);
  });

  it("a stream whose client went away: told once, stored", async () => {
    const { engine, turns, conversation } = await setup();
    const stream = engine.respondStream("t", { model: "mock", input: "hello", conversation, stream: true });
    for await (const event of stream)
      if (event.type === "provider" && event.event.type === "text_delta") break;
    assert.deepEqual(told(turns), [{ stored: true, paid: true }]);
  });

  it("a stream whose client went away while the store was out: told once, not stored", async () => {
    const { store, engine, turns, conversation } = await setup();
    store.refusals = [new UnavailableError("Redis is unavailable.")];
    const stream = engine.respondStream("t", { model: "mock", input: "hello", conversation, stream: true });
    for await (const event of stream)
      if (event.type === "provider" && event.event.type === "text_delta") break;
    assert.deepEqual(told(turns), [{ stored: false, paid: true }]);
  });
});
