/**
 * The busy policy across instances: several TurnEngines (each with its own in-process locks,
 * like separate `holdfast serve` processes) over one store. End-to-end over real processes:
 * test/gateway-instances/.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { assertTurnsDoNotInterleave } from "../../../test/support/transcript.ts";
import { createStore } from "../../store/create-store.ts";
import { HoldfastError, UnavailableError } from "../../store/errors.ts";
import type { SessionStore } from "../../store/types.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { createMockProvider } from "../providers/mock.ts";
import type { TurnRequest } from "../providers/types.ts";
import { TurnEngine, type TurnEngineOptions } from "./turn-engine.ts";
import type { ModelInvoker } from "./turn-types.ts";

function slowInvoker(latencyMs: number, fail = false): ModelInvoker & { requests: TurnRequest[] } {
  const provider = createMockProvider();
  const requests: TurnRequest[] = [];
  return {
    requests,
    describe: () => ({ ...getDefaultCatalog().get("mock"), contextWindow: 100_000, maxOutputTokens: 100 }),
    complete: async (request) => {
      requests.push(request);
      await sleep(latencyMs);
      if (fail) throw new HoldfastError("upstream_error", "upstream down");
      return provider.complete(request);
    },
    async *stream(request) {
      requests.push(request);
      await sleep(latencyMs);
      if (fail) throw new HoldfastError("upstream_error", "upstream down");
      yield* provider.stream(request);
    },
  };
}

function instance(store: SessionStore, invoker: ModelInvoker, options: Partial<TurnEngineOptions> = {}) {
  return new TurnEngine({ store, invoker, reserveTokens: 0, compaction: false, ...options });
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: { code?: string }) => e.code ?? String(e),
  );

describe("busy policy across instances (one store, separate engines)", () => {
  it("queue: concurrent turns from three instances run one at a time, each sees the one before", async () => {
    const store = await createStore("memory:");
    const conv = await store.create("t");
    const invokers = [slowInvoker(30), slowInvoker(30), slowInvoker(30)];
    const engines = invokers.map((inv) => instance(store, inv));
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        engines[i % 3]!.respond("t", { model: "mock", input: `question ${i}`, conversation: conv.id }),
      ),
    );
    for (const r of results) assert.equal(r.status, "completed");
    const items = await store.readItems("t", conv.id, { limit: 1000 });
    assert.equal(assertTurnsDoNotInterleave(items), 9);
    // The window is read after the claim: every turn's request carries all turns before it.
    const sent = invokers.flatMap((inv) => inv.requests.map((r) => r.input.length)).sort((a, b) => a - b);
    assert.deepEqual(
      sent,
      Array.from({ length: 9 }, (_, i) => 2 * i + 1),
    );
  });

  it("two turns continuing one response at once: the one that waited forks instead of following the other", async () => {
    const store = await createStore("memory:");
    const invokers = [slowInvoker(40), slowInvoker(40)];
    const [a, b] = invokers.map((inv) => instance(store, inv)) as [TurnEngine, TurnEngine];
    const first = await a.respond("t", { model: "mock", input: "root question" });
    const sessionOf = (id: unknown) => `conv_${String(id).slice(21)}`;
    const [x, y] = await Promise.all([
      a.respond("t", { model: "mock", input: "branch x", previous_response_id: first.id }),
      b.respond("t", { model: "mock", input: "branch y", previous_response_id: first.id }),
    ]);
    const sessions = new Set([sessionOf(x.id), sessionOf(y.id)]);
    assert.equal(sessions.size, 2, "one continued the root session, the other forked");
    assert.ok(sessions.has(sessionOf(first.id)));
    // Neither branch saw the other: each request carried the root turn and its own input only.
    for (const request of invokers.flatMap((inv) => inv.requests)) {
      const text = JSON.stringify(request.input);
      assert.ok(!(text.includes("branch x") && text.includes("branch y")), text);
    }
    for (const id of sessions) assert.equal(assertTurnsDoNotInterleave(await store.readItems("t", id)), 2);
  });

  it("reject: a turn arriving on another instance while one runs gets conversation_busy and writes nothing", async () => {
    const store = await createStore("memory:");
    const conv = await store.create("t");
    const a = instance(store, slowInvoker(150), { busyPolicy: "reject" });
    const b = instance(store, slowInvoker(0), { busyPolicy: "reject" });
    const first = a.respond("t", { model: "mock", input: "first", conversation: conv.id });
    await sleep(40);
    assert.equal(
      await code(b.respond("t", { model: "mock", input: "second", conversation: conv.id })),
      "conversation_busy",
    );
    assert.equal(
      await code(a.respond("t", { model: "mock", input: "third", conversation: conv.id })),
      "conversation_busy",
    );
    await first;
    assert.equal(assertTurnsDoNotInterleave(await store.readItems("t", conv.id)), 1);
    // Free again once the turn ended.
    assert.equal(await code(b.respond("t", { model: "mock", input: "later", conversation: conv.id })), "ok");
  });

  it("queue: a turn that cannot get its turn within busyMaxWaitMs gets conversation_busy", async () => {
    const store = await createStore("memory:");
    const conv = await store.create("t");
    const a = instance(store, slowInvoker(400));
    const b = instance(store, slowInvoker(0), { busyMaxWaitMs: 100 });
    const first = a.respond("t", { model: "mock", input: "long", conversation: conv.id });
    await sleep(30);
    const started = Date.now();
    await assert.rejects(
      b.respond("t", { model: "mock", input: "waits", conversation: conv.id }),
      (e: HoldfastError) => {
        assert.equal(e.code, "conversation_busy");
        assert.match(e.message, /waited \d+ ms/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 350, "gave up at its deadline, not when the other turn ended");
    // Same-instance waiters are bounded the same way.
    const c = b.respond("t", { model: "mock", input: "x", conversation: conv.id });
    assert.equal(await code(c), "conversation_busy");
    await first;
    assert.equal(assertTurnsDoNotInterleave(await store.readItems("t", conv.id)), 1);
  });

  it("a long turn renews its claim past the TTL; a failed turn releases it at once", async () => {
    const store = await createStore("memory:");
    const conv = await store.create("t");
    const a = instance(store, slowInvoker(700), { busyClaimTtlMs: 240 });
    const b = instance(store, slowInvoker(0), { busyClaimTtlMs: 240 });
    const first = a.respond("t", { model: "mock", input: "long", conversation: conv.id });
    await sleep(30);
    const second = b.respond("t", { model: "mock", input: "after", conversation: conv.id });
    await Promise.all([first, second]);
    assert.equal(assertTurnsDoNotInterleave(await store.readItems("t", conv.id)), 2);

    const broken = instance(store, slowInvoker(20, true), { busyClaimTtlMs: 60_000 });
    assert.equal(
      await code(broken.respond("t", { model: "mock", input: "fails", conversation: conv.id })),
      "upstream_error",
    );
    const streamFail = broken.respondStream("t", {
      model: "mock",
      input: "fails",
      conversation: conv.id,
      stream: true,
    });
    assert.equal(await code(streamFail.next()), "upstream_error");
    // Nothing waits out the 60 s TTL: both failures gave the claim back.
    const reject = instance(store, slowInvoker(0), { busyPolicy: "reject" });
    assert.equal(
      await code(reject.respond("t", { model: "mock", input: "free", conversation: conv.id })),
      "ok",
    );
  });

  it("a streaming turn the client abandons commits what it has and releases the claim", async () => {
    const store = await createStore("memory:");
    const conv = await store.create("t");
    const a = instance(store, slowInvoker(10));
    const stream = a.respondStream("t", {
      model: "mock",
      input: "stream me",
      conversation: conv.id,
      stream: true,
    });
    assert.equal((await stream.next()).value?.type, "created");
    await stream.return(undefined);
    const reject = instance(store, slowInvoker(0), { busyPolicy: "reject" });
    assert.equal(
      await code(reject.respond("t", { model: "mock", input: "next", conversation: conv.id })),
      "ok",
    );
    assert.equal(assertTurnsDoNotInterleave(await store.readItems("t", conv.id)), 2);
  });

  it("a retry with the same idempotency key while the turn runs waits and returns its result; one upstream call", async () => {
    const store = await createStore("memory:");
    const conv = await store.create("t");
    const invokers = [slowInvoker(50), slowInvoker(50)];
    const [a, b] = invokers.map((inv) => instance(store, inv)) as [TurnEngine, TurnEngine];
    const body = { model: "mock", input: "once", conversation: conv.id };
    const first = a.respond("t", body, { idempotencyKey: "retry-1" });
    await sleep(10);
    // The client gave up waiting and retried: on the same instance and on another one.
    const [original, sameInstance, otherInstance] = await Promise.all([
      first,
      a.respond("t", body, { idempotencyKey: "retry-1" }),
      b.respond("t", body, { idempotencyKey: "retry-1" }),
    ]);
    assert.equal(sameInstance.id, original.id);
    assert.equal(otherInstance.id, original.id);
    assert.deepEqual(sameInstance.output, original.output);
    assert.deepEqual(otherInstance.output, original.output);
    assert.equal(
      invokers[0]!.requests.length + invokers[1]!.requests.length,
      1,
      "the upstream was called once",
    );
    assert.equal(assertTurnsDoNotInterleave(await store.readItems("t", conv.id)), 1);
    // The conversation is free again.
    const reject = instance(store, slowInvoker(0), { busyPolicy: "reject" });
    assert.equal(
      await code(reject.respond("t", { model: "mock", input: "next", conversation: conv.id })),
      "ok",
    );
  });

  it("an input append whose answer was lost (it committed, with the claim) gives the claim back", async () => {
    const store = await createStore("memory:");
    const conv = await store.create("t");
    // The store commits the first append, then its answer is lost (a dropped connection after
    // the commit): the turn fails `unavailable` though its claim was taken.
    let lose = true;
    const lossy = new Proxy(store, {
      get(target, name, receiver) {
        if (name !== "append") {
          const value = Reflect.get(target, name, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return async (...args: Parameters<SessionStore["append"]>) => {
          const result = await target.append(...args);
          if (!lose) return result;
          lose = false;
          throw new UnavailableError("The store's answer was lost.");
        };
      },
    });
    const a = instance(lossy, slowInvoker(0), { busyPolicy: "reject", busyClaimTtlMs: 60_000 });
    assert.equal(
      await code(a.respond("t", { model: "mock", input: "lost", conversation: conv.id })),
      "unavailable",
    );
    // Another instance may run the next turn now, not only once the 60 s claim expired.
    const b = instance(store, slowInvoker(0), { busyPolicy: "reject" });
    assert.equal(await code(b.respond("t", { model: "mock", input: "next", conversation: conv.id })), "ok");
  });
});
