/**
 * `onTurn` (what spend caps and metrics count) hears of every model call a turn paid for exactly
 * once, whatever became of its commit: stored, stored as a record-only `failed` turn, or not
 * stored at all (a store outage, a store refusing both the answer and the record) — the last two
 * used to be told nothing although the provider charged for the call. Turns cut short (client
 * gone, upstream failing mid-stream) are told once too; a replay never. A non-streamed call cut
 * short while the upstream had its request is told with its input estimated (it used to be told
 * 0 tokens), priced at the target the request went to; one cut between retries, with no request
 * out, spent nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import { DelegatingStore } from "../../store/decorators/delegating-store.ts";
import { HoldfastError, UnavailableError } from "../../store/errors.ts";
import type { AppendOptions, AppendResult, ItemInput } from "../../store/types.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { createGateway } from "../gateway.ts";
import { parseProvidersConfig } from "../providers/config.ts";
import { createProviderLayer } from "../providers/create-providers.ts";
import { CancelledError, ProviderError } from "../providers/errors.ts";
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

/**
 * A gateway over the real router whose provider `p` serves route `alias` as `m1` (one USD per
 * token) and holds every call (a streamed one before its first event) until its signal aborts, as
 * an upstream still working on its answer does; with `failFirst`, the first call answers 503 and
 * the retry waits a minute. `reached` resolves when a request is held, `failed` when the 503 was
 * answered.
 */
async function heldGateway(failFirst: boolean) {
  let reached!: () => void;
  let failed!: () => void;
  const held = {
    reached: new Promise<void>((resolve) => {
      reached = resolve;
    }),
    failed: new Promise<void>((resolve) => {
      failed = resolve;
    }),
  };
  let calls = 0;
  const hold = (signal: AbortSignal | undefined): Promise<never> => {
    if (failFirst && calls++ === 0) {
      failed();
      return Promise.reject(new ProviderError("p answered 503", { status: 503, provider: "p" }));
    }
    return new Promise((_resolve, reject) => {
      const cut = () => reject(new CancelledError(undefined, { provider: "p" }));
      signal?.addEventListener("abort", cut, { once: true });
      reached();
    });
  };
  const config = parseProvidersConfig(
    {
      providers: [
        { name: "p", type: "mock", retry: { maxRetries: 1, baseDelayMs: 60_000, maxDelayMs: 60_000 } },
      ],
      routes: { alias: [{ provider: "p", model: "m1" }] },
      models: { m1: { pricing: { input: 1e6, output: 1e6 } } },
    },
    {},
  );
  const layer = createProviderLayer(config, {
    env: {},
    random: () => 0.99,
    wrapProvider: (provider) => ({
      ...provider,
      complete: (request) => hold(request.signal),
      // Never yields: `hold` only rejects (503, or the cut), as before a stream's first event.
      async *stream(request) {
        yield await hold(request.signal);
      },
    }),
  });
  const store = await createStore("memory:");
  const turns: FinishedTurn[] = [];
  const gateway = createGateway({ store, providers: layer, onTurn: (turn) => turns.push(turn) });
  const conversation = (await store.create("t")).id;
  return { gateway, turns, conversation, held };
}

/** One turn on `conversation`, streamed or not, cut by `signal`; its final Response object. */
async function cutTurn(
  gateway: Awaited<ReturnType<typeof heldGateway>>["gateway"],
  streamed: boolean,
  conversation: string,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const body = { model: "alias", input: "hello there", conversation };
  if (!streamed) return gateway.engine.respond("t", body, { signal });
  let final: Record<string, unknown> | undefined;
  for await (const event of gateway.engine.respondStream("t", body, { signal }))
    if (event.type === "completed") final = event.response;
  assert.ok(final, "the stream ended without a completed event");
  return final;
}

// A streamed call cut before its first event used to be told 0 tokens, though its request was out.
for (const streamed of [false, true])
  describe(`onTurn: a ${streamed ? "streamed call cut before its first event" : "non-streamed call cut short"} by its client`, () => {
    it("while the upstream had its request: told its input, estimated, at the served target's price", async () => {
      const { gateway, turns, conversation, held } = await heldGateway(false);
      const client = new AbortController();
      const answer = cutTurn(gateway, streamed, conversation, client.signal);
      await held.reached;
      client.abort();
      const response = await answer;
      await gateway.close();
      assert.equal(response.status, "incomplete");
      assert.equal(turns.length, 1);
      const [turn] = turns;
      assert.ok(turn!.usage.input_tokens > 0, JSON.stringify(turn!.usage));
      assert.equal(turn!.usage.output_tokens, 0);
      assert.equal(turn!.usage.estimated, true);
      assert.equal(turn!.model, "m1");
      assert.equal(turn!.costUsd, turn!.usage.input_tokens);
      assert.equal(turn!.stored, true);
      const usage = response.usage as { input_tokens: number; output_tokens: number; estimated?: true };
      assert.equal(usage.input_tokens, turn!.usage.input_tokens);
      assert.equal(usage.output_tokens, 0);
      assert.equal(usage.estimated, true);
    });

    it("between retries, with no request out: told nothing was spent", async () => {
      const { gateway, turns, conversation, held } = await heldGateway(true);
      const client = new AbortController();
      const answer = cutTurn(gateway, streamed, conversation, client.signal);
      await held.failed;
      // The router is now waiting out its backoff before the retry.
      await new Promise((resolve) => setImmediate(resolve));
      client.abort();
      const response = await answer;
      await gateway.close();
      assert.equal(response.status, "incomplete");
      assert.equal(turns.length, 1);
      assert.deepEqual(turns[0]!.usage, { input_tokens: 0, output_tokens: 0, cached_tokens: 0 });
    });
  });
