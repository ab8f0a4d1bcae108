/** Compaction against a real store (`createStore("memory:")`), through the SessionStore contract only. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createStore } from "../../store/create-store.ts";
import type { SessionStore } from "../../store/types.ts";
import { compact, compactAndRetry, isContextLengthError, type Summarizer, shouldCompact } from "./compact.ts";
import { checkWindowInvariants } from "./invariants.ts";
import { generateHistoryInputs } from "./synthetic-history.ts";
import { createTokenCounter } from "./token-counter.ts";
import { buildWindow } from "./window.ts";

const TENANT = "t1";

async function seeded(store: SessionStore, targetTokens: number, seed = 1): Promise<string> {
  const count = createTokenCounter("gpt-4o");
  const inputs = generateHistoryInputs({ seed, targetTokens, countTokens: count });
  const session = await store.create(TENANT);
  for (let i = 0; i < inputs.length; i += 500)
    await store.append(TENANT, session.id, inputs.slice(i, i + 500));
  return session.id;
}

async function allItems(store: SessionStore, id: string) {
  return store.readItems(TENANT, id, { limit: 10000 });
}

describe("compact", () => {
  it("appends a summary covering the old range; originals stay; windows start from it", async () => {
    const store = await createStore("memory:");
    const id = await seeded(store, 60_000);
    const before = await allItems(store, id);
    const result = await compact(store, TENANT, id, { model: "gpt-4o", keepRecentTokens: 8000 });
    assert.equal(result.compacted, true);
    assert.equal(result.covers?.fromSeq, 1);
    assert.ok(result.tokensAfter < result.tokensBefore);
    const after = await allItems(store, id);
    assert.equal(after.length, before.length + 1);
    assert.deepEqual(after.slice(0, before.length), before, "originals unchanged");
    const summary = after.at(-1);
    assert.equal(summary?.type, "summary");
    assert.equal(summary?.content.model, "gpt-4o");
    assert.equal(typeof (summary?.content.summary as { goal?: unknown } | undefined)?.goal, "string");
    const recent = before
      .filter((i) => i.seq > (result.covers?.toSeq ?? 0))
      .reduce((s, i) => s + i.tokens, 0);
    assert.ok(recent <= 8000, `kept ${recent} recent tokens`);
    const w = buildWindow(after, { model: "gpt-4o" });
    assert.equal(w.summaryUsed, true);
    assert.deepEqual(checkWindowInvariants(after, w), []);
    assert.ok(w.tokens < 20_000);
    await store.close();
  });

  it("folds the previous summary into a repeat compaction", async () => {
    const store = await createStore("memory:");
    const id = await seeded(store, 40_000, 2);
    const first = await compact(store, TENANT, id, { model: "gpt-4o", keepRecentTokens: 5000 });
    const more = generateHistoryInputs({
      seed: 3,
      targetTokens: 30_000,
      countTokens: createTokenCounter("gpt-4o"),
    });
    for (let i = 0; i < more.length; i += 500) await store.append(TENANT, id, more.slice(i, i + 500));
    const seen: Array<string | null> = [];
    const spy: Summarizer = async (request) => {
      seen.push(request.previous?.goal ?? null);
      return {
        goal: request.previous?.goal ?? "new",
        decisions: ["d"],
        facts: [],
        openItems: [],
        recentContext: "",
      };
    };
    const second = await compact(store, TENANT, id, {
      model: "gpt-4o",
      keepRecentTokens: 5000,
      summarize: spy,
    });
    assert.equal(second.compacted, true);
    assert.equal(second.covers?.fromSeq, 1);
    assert.ok((second.covers?.toSeq ?? 0) > (first.covers?.toSeq ?? 0));
    assert.ok(seen[0] !== null, "the previous summary was passed in");
    await store.close();
  });

  it("never overflows the summarizer: chunks a range bigger than its context", async () => {
    const store = await createStore("memory:");
    const id = await seeded(store, 80_000, 4);
    const sizes: number[] = [];
    const summarize: Summarizer = async (request) => {
      sizes.push(request.items.reduce((s, i) => s + i.tokens, 0));
      return { goal: "g", decisions: [], facts: [`chunk ${sizes.length}`], openItems: [], recentContext: "" };
    };
    const result = await compact(store, TENANT, id, {
      model: "gpt-4o",
      keepRecentTokens: 2000,
      summarize,
      maxChunkTokens: 20_000,
      summaryMaxTokens: 1000,
    });
    assert.ok(result.chunks > 3, `${result.chunks} chunks`);
    for (const size of sizes) assert.ok(size <= 20_000, `chunk of ${size} tokens`);
    await store.close();
  });

  it("survives concurrent turns: version conflict, re-read, retry", async () => {
    const store = await createStore("memory:");
    const id = await seeded(store, 30_000, 5);
    let racedOnce = false;
    const summarize: Summarizer = async () => {
      if (!racedOnce) {
        racedOnce = true;
        // A turn lands while the summarizer runs.
        await store.append(TENANT, id, [
          { content: { type: "message", role: "user", content: "meanwhile" } },
        ]);
      }
      return { goal: "g", decisions: [], facts: [], openItems: [], recentContext: "" };
    };
    const result = await compact(store, TENANT, id, { model: "gpt-4o", keepRecentTokens: 2100, summarize });
    assert.equal(result.compacted, true);
    assert.equal(result.attempts, 2);
    const items = await allItems(store, id);
    assert.equal(items.at(-2)?.content.content, "meanwhile", "the concurrent turn is kept");
    assert.equal(items.at(-1)?.type, "summary");
    await store.close();
  });

  it("runs alongside real concurrent appends without losing either", async () => {
    const store = await createStore("memory:");
    const id = await seeded(store, 30_000, 8);
    const before = (await allItems(store, id)).length;
    const turns = Array.from({ length: 20 }, (_, i) =>
      store.append(TENANT, id, [{ content: { type: "message", role: "user", content: `turn ${i}` } }]),
    );
    const [result] = await Promise.all([
      compact(store, TENANT, id, { model: "gpt-4o", keepRecentTokens: 4000 }),
      ...turns,
    ]);
    assert.equal(result.compacted, true);
    const items = await allItems(store, id);
    assert.equal(items.length, before + 21);
    assert.equal(items.filter((i) => i.type === "summary").length, 1);
    for (let i = 0; i < 20; i++) assert.ok(items.some((item) => item.content.content === `turn ${i}`));
    await store.close();
  });

  it("covers only whole call/output pairs and yields valid windows (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 12_000 }),
        fc.integer({ min: 2_000, max: 40_000 }),
        async (seed, keepRecentTokens, budget) => {
          const store = await createStore("memory:");
          try {
            const id = await seeded(store, 25_000, seed);
            const result = await compact(store, TENANT, id, { model: "gpt-4o", keepRecentTokens });
            const items = await allItems(store, id);
            if (result.compacted) {
              const toSeq = result.covers?.toSeq ?? 0;
              const coveredCalls = new Set(
                items
                  .filter((i) => i.seq <= toSeq && i.type === "function_call")
                  .map((i) => i.content.call_id),
              );
              for (const item of items) {
                if (item.seq > toSeq && item.type === "function_call_output") {
                  assert.ok(
                    !coveredCalls.has(item.content.call_id),
                    `output ${item.seq} separated from its call`,
                  );
                }
              }
            }
            try {
              const w = buildWindow(items, { model: "gpt-4o", maxInputTokens: budget });
              assert.deepEqual(checkWindowInvariants(items, w), []);
            } catch (error) {
              assert.equal((error as { code?: string }).code, "context_overflow");
            }
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 25, seed: 99 },
    );
  });

  it("appends nothing when the summary is not smaller than the range, or the summarizer fails", async () => {
    const store = await createStore("memory:");
    const session = await store.create(TENANT);
    const id = session.id;
    const count = createTokenCounter("gpt-4o");
    const message = (role: string, text: string) => {
      const content = { type: "message", role, content: [{ type: "input_text", text }] };
      return { content, tokens: count(content) };
    };
    await store.append(TENANT, id, [
      message("user", "hi"),
      message("assistant", "hello"),
      message("user", "word ".repeat(200)),
    ]);
    const version = (await store.get(TENANT, id)).version;
    const run = (summarize: Summarizer) =>
      compact(store, TENANT, id, { model: "gpt-4o", keepRecentTokens: 210, summarize });
    const goal = "A very long goal. ".repeat(100);
    // Before: the 1,000-token summary replacing ~15 tokens was appended anyway.
    const result = await run(async () => ({
      goal,
      decisions: [],
      facts: [],
      openItems: [],
      recentContext: "",
    }));
    assert.equal(result.compacted, false);
    assert.match(result.reason ?? "", /not smaller/);
    assert.ok(result.tokensAfter >= result.tokensBefore);
    // A summarizer that throws, or returns no object, appends nothing.
    const failing: Summarizer = async () => {
      throw new Error("summarizer down");
    };
    await assert.rejects(run(failing), /summarizer down/);
    const empty = (async () => undefined) as unknown as Summarizer;
    await assert.rejects(run(empty), { code: "internal", message: /no summary object/ });
    // A partial summary object (missing lists) is completed instead of throwing a TypeError.
    const partial = (async () => ({ goal: "g" })) as unknown as Summarizer;
    const small = await run(partial);
    assert.equal(small.compacted, false);
    assert.match(small.reason ?? "", /not smaller/);
    assert.equal((await store.get(TENANT, id)).version, version);
    await store.close();
  });

  it("does nothing when everything is recent", async () => {
    const store = await createStore("memory:");
    const id = await seeded(store, 3000, 6);
    const result = await compact(store, TENANT, id, { model: "gpt-4o", keepRecentTokens: 100_000 });
    assert.equal(result.compacted, false);
    assert.match(result.reason ?? "", /nothing older/);
    await store.close();
  });
});

describe("triggers", () => {
  it("shouldCompact compares window tokens with a share of the input budget", () => {
    assert.equal(shouldCompact(90_000, "gpt-4o", 0.8), true); // budget 128000-16384
    assert.equal(shouldCompact(80_000, "gpt-4o", 0.8), false);
    assert.throws(() => shouldCompact(1, "gpt-4o", 0), /threshold/);
  });

  it("recognises provider context-length errors", () => {
    assert.equal(isContextLengthError({ error: { code: "context_length_exceeded", message: "x" } }), true);
    assert.equal(isContextLengthError(new Error("prompt is too long: 210000 tokens > 200000 maximum")), true);
    assert.equal(isContextLengthError(new Error("rate limited")), false);
  });

  it("compactAndRetry compacts once on overflow and retries", async () => {
    const store = await createStore("memory:");
    const id = await seeded(store, 40_000, 7);
    let calls = 0;
    const result = await compactAndRetry(
      async () => {
        calls++;
        const items = await allItems(store, id);
        const w = buildWindow(items, { model: "gpt-4o", maxInputTokens: 20_000, pruning: false });
        if (!w.summaryUsed)
          throw Object.assign(new Error("This model's maximum context length is 20000 tokens"), {
            status: 400,
          });
        return w;
      },
      { store, tenant: TENANT, sessionId: id, model: "gpt-4o", keepRecentTokens: 6000 },
    );
    assert.equal(calls, 2);
    assert.equal(result.summaryUsed, true);
    await assert.rejects(
      compactAndRetry(
        async () => {
          throw new Error("boom");
        },
        { store, tenant: TENANT, sessionId: id, model: "gpt-4o", keepRecentTokens: 6000 },
      ),
      /boom/,
    );
    await store.close();
  });
});
