import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Item, JsonObject } from "../../store/types.ts";
import { validateModel } from "./catalog.ts";
import { ContextOverflowError } from "./errors.ts";
import { checkWindowInvariants } from "./invariants.ts";
import { pinContent } from "./items.ts";
import { createSummaryContent } from "./summary.ts";
import { buildWindow, OMITTED_ITEM_ID } from "./window.ts";

/** The text of the synthetic opener the window put first. */
function openerText(item: Item | undefined): string {
  const content = (item?.content as { content?: Array<{ text?: string }> } | undefined)?.content;
  return content?.[0]?.text ?? "";
}

function model(contextWindow: number, alternation = false) {
  return validateModel(
    {
      id: "test-model",
      provider: "openai",
      contextWindow,
      maxOutputTokens: 100,
      tokenizer: "o200k_base",
      prices: null,
      alternation,
    },
    "model",
  );
}

const msg = (role: string, tokens: number): JsonObject => ({
  type: "message",
  role,
  content: [{ type: role === "assistant" ? "output_text" : "input_text", text: "w ".repeat(tokens) }],
});
const call = (id: string): JsonObject => ({
  type: "function_call",
  call_id: id,
  name: "tool",
  arguments: "{}",
});
const out = (id: string, tokens: number, image = false): JsonObject => ({
  type: "function_call_output",
  call_id: id,
  output: image
    ? [{ type: "input_image", image_url: "https://x/y.png", detail: "low" }]
    : "x".repeat(tokens * 4),
});

type Event =
  | { kind: "user" | "assistant" | "system" | "pinned"; tokens: number }
  | {
      kind: "tools";
      calls: number;
      order: number[];
      tokens: number[];
      reasoning: boolean;
      between: boolean;
      image: boolean;
    }
  | { kind: "orphan" | "dangling" | "duplicate"; tokens: number }
  | { kind: "summary"; back: number };

const tokens = fc.integer({ min: 1, max: 1500 });
const event: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constantFrom("user" as const, "assistant" as const), tokens }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom("system" as const, "pinned" as const),
      tokens: fc.integer({ min: 1, max: 200 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.integer({ min: 1, max: 3 }).chain((calls) =>
      fc.record({
        kind: fc.constant("tools" as const),
        calls: fc.constant(calls),
        order: fc.shuffledSubarray([...Array(calls).keys()], { minLength: calls, maxLength: calls }),
        tokens: fc.array(tokens, { minLength: calls, maxLength: calls }),
        reasoning: fc.boolean(),
        between: fc.integer({ min: 0, max: 4 }).map((v) => v === 0),
        image: fc.integer({ min: 0, max: 3 }).map((v) => v === 0),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom("orphan" as const, "dangling" as const, "duplicate" as const),
      tokens,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("summary" as const), back: fc.integer({ min: 1, max: 30 }) }),
  },
);

function toHistory(events: Event[]): Item[] {
  const items: Item[] = [];
  let n = 0;
  const push = (content: JsonObject, t: number) => {
    n++;
    items.push({
      seq: n,
      id: `i${n}`,
      type: String(content.type),
      role: typeof content.role === "string" ? content.role : null,
      status: null,
      content,
      tokens: t,
      bytes: 0,
      turnId: null,
      createdAt: 0,
    });
  };
  for (const e of events) {
    if (e.kind === "user" || e.kind === "assistant" || e.kind === "system")
      push(msg(e.kind, e.tokens), e.tokens);
    else if (e.kind === "pinned") push(pinContent(msg("user", e.tokens)), e.tokens);
    else if (e.kind === "orphan") push(out(`orphan${n}`, e.tokens), e.tokens);
    else if (e.kind === "dangling") push(call(`dangling${n}`), 10);
    else if (e.kind === "duplicate") {
      const id = `dup${n}`;
      push(call(id), 10);
      push(call(id), 10);
      push(out(id, e.tokens), e.tokens);
    } else if (e.kind === "summary") {
      if (n < 2) continue;
      const toSeq = Math.max(1, n - e.back);
      const content = createSummaryContent({
        summary: { goal: "g", decisions: [], facts: [], openItems: [], recentContext: "" },
        covers: { fromSeq: 1, toSeq },
        model: "mock",
        tokens_before: 0,
        tokens_after: 50,
      });
      push(content, 50);
    } else if (e.kind === "tools") {
      const base = n;
      if (e.reasoning) push({ type: "reasoning", summary: [] }, 5);
      for (let c = 0; c < e.calls; c++) push(call(`c${base}_${c}`), 10);
      if (e.between) push(msg("user", 5), 5);
      for (const c of e.order)
        push(out(`c${base}_${c}`, e.tokens[c] ?? 1, e.image && c === 0), e.tokens[c] ?? 1);
    }
  }
  return items;
}

const scenario = fc.record({
  events: fc.array(event, { minLength: 0, maxLength: 80 }),
  context: fc.integer({ min: 300, max: 30_000 }),
  alternation: fc.boolean(),
  pruning: fc.oneof(
    fc.constant(false as const),
    fc.record({
      keepRecentTurns: fc.integer({ min: 0, max: 3 }),
      softTrimMinTokens: fc.integer({ min: 20, max: 800 }),
    }),
  ),
});

const stats = { windows: 0, overflows: 0, pruned: 0, truncated: 0, alternationOpeners: 0 };

describe("buildWindow invariants (property)", () => {
  it("never exceeds the budget, never splits pairs, never reorders, keeps pinned and summary", () => {
    fc.assert(
      fc.property(scenario, ({ events, context, alternation, pruning }) => {
        const history = toHistory(events);
        const frozen = JSON.stringify(history);
        try {
          const w = buildWindow(history, { model: model(context, alternation), pruning });
          stats.windows++;
          if (w.pruning.length > 0) stats.pruned++;
          if (w.droppedCount > 0) stats.truncated++;
          if (w.items.some((i) => i.id === OMITTED_ITEM_ID)) stats.alternationOpeners++;
          const problems = checkWindowInvariants(history, w, alternation);
          assert.deepEqual(problems, []);
          assert.equal(
            w.items.filter((i) => i.id !== OMITTED_ITEM_ID).length + w.droppedCount,
            history.length,
          );
          assert.equal(
            w.tokens,
            w.items.reduce((s, i) => s + i.tokens, 0),
          );
        } catch (error) {
          if (!(error instanceof ContextOverflowError)) throw error;
          stats.overflows++;
          assert.ok(error.needed > error.budget, error.message);
        }
        assert.equal(JSON.stringify(history), frozen, "input was mutated");
      }),
      { numRuns: 400, seed: 4242 },
    );
    // The generator must exercise every path, or the property proves little.
    assert.ok(stats.windows > 200 && stats.overflows > 5, JSON.stringify(stats));
    assert.ok(
      stats.pruned >= 8 && stats.truncated > 100 && stats.alternationOpeners > 5,
      JSON.stringify(stats),
    );
  });

  it("keeps every item when everything fits", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const history = toHistory(events).filter((i) => i.type !== "summary");
        const w = buildWindow(history, { model: model(10_000_000), pruning: false });
        const valid = history.filter((i) => !w.items.includes(i));
        // Only invalid items (orphans, unanswered calls) may be left out.
        for (const item of valid) assert.ok(["function_call", "function_call_output"].includes(item.type));
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});

describe("checkWindowInvariants", () => {
  it("reports the violations it exists to catch", () => {
    const h = toHistory([
      { kind: "user", tokens: 10 },
      { kind: "tools", calls: 1, order: [0], tokens: [10], reasoning: false, between: false, image: false },
    ]);
    const [user, c, o] = h as [Item, Item, Item];
    const problems = (items: Item[], budget = 1000) =>
      checkWindowInvariants(h, { items, tokens: items.reduce((s, i) => s + i.tokens, 0), budget });
    assert.deepEqual(problems([user, c, o]), []);
    assert.match(problems([o]).join(), /orphan output/);
    assert.match(problems([user, c]).join(), /without its output/);
    assert.match(problems([c, o, user]).join(), /reordered/);
    assert.match(problems([user, c, o], 5).join(), /exceed budget/);
    assert.match(
      checkWindowInvariants(h, { items: [c, o], tokens: 20, budget: 100 }, true).join(),
      /not user/,
    );
  });
});

describe("buildWindow examples", () => {
  const history = toHistory([
    { kind: "system", tokens: 50 },
    { kind: "user", tokens: 100 },
    {
      kind: "tools",
      calls: 2,
      order: [1, 0],
      tokens: [3000, 2500],
      reasoning: false,
      between: false,
      image: false,
    },
    { kind: "assistant", tokens: 100 },
    { kind: "user", tokens: 100 },
    { kind: "tools", calls: 1, order: [0], tokens: [4000], reasoning: false, between: false, image: false },
    { kind: "assistant", tokens: 100 },
    { kind: "user", tokens: 100 },
    { kind: "assistant", tokens: 100 },
  ]);

  it("truncates at a pair boundary and keeps the system message", () => {
    const w = buildWindow(history, { model: model(5000), pruning: false });
    assert.equal(w.items[0]?.seq, 1);
    assert.ok(w.tokens <= w.budget);
    assert.ok(w.droppedCount > 0);
    assert.deepEqual(w.pruning, []);
  });

  it("soft-trims old outputs before dropping them, and hard-clears the oldest", () => {
    const w = buildWindow(history, {
      model: model(2000),
      pruning: { keepRecentTurns: 1, softTrimMinTokens: 500 },
    });
    assert.ok(w.tokens <= w.budget);
    const actions = w.pruning.map((p) => p.action);
    assert.ok(actions.length > 0, "something was pruned");
    const trimmed = w.items.find(
      (i) => typeof i.content.output === "string" && i.content.output.includes("[holdfast:"),
    );
    assert.ok(trimmed, "a pruned output is in the window");
    for (const p of w.pruning) assert.ok(p.tokensSaved > 0);
    // Storage is untouched.
    assert.ok(!JSON.stringify(history).includes("[holdfast:"));
  });

  it("never prunes outputs carrying images", () => {
    const withImage = toHistory([
      { kind: "user", tokens: 10 },
      { kind: "tools", calls: 1, order: [0], tokens: [3000], reasoning: false, between: false, image: true },
      { kind: "user", tokens: 10 },
      { kind: "tools", calls: 1, order: [0], tokens: [3000], reasoning: false, between: false, image: false },
      { kind: "assistant", tokens: 10 },
    ]);
    const w = buildWindow(withImage, {
      model: model(3500),
      pruning: { keepRecentTurns: 0, softTrimMinTokens: 100 },
    });
    const image = w.items.find((i) => Array.isArray(i.content.output));
    if (image) assert.equal(image.tokens, 3000);
    assert.ok(!w.pruning.some((p) => p.seq === 3));
  });

  it("a window exactly at the budget under a tokenScale reports tokens = budget (no float round-up)", () => {
    // 170 × 1.1 is 187.00000000000003 in floating point; before, tokens was 188 > budget 187.
    const h = toHistory([{ kind: "user", tokens: 170 }]);
    assert.equal(h[0]?.tokens, 170);
    const w = buildWindow(h, { model: model(287), tokenScale: 1.1, pruning: false });
    assert.equal(w.budget, 187);
    assert.equal(w.items.length, 1);
    assert.equal(w.tokens, 187);
    assert.deepEqual(checkWindowInvariants(h, w), []);
  });

  it("throws context_overflow saying by how much", () => {
    const big = toHistory([{ kind: "user", tokens: 1000 }]);
    assert.throws(
      () => buildWindow(big, { model: model(600), pruning: false }),
      (error: unknown) =>
        error instanceof ContextOverflowError &&
        error.code === "context_overflow" &&
        error.excess === 1000 - 500 &&
        error.message.includes("500 tokens too many"),
    );
  });

  it("opens with a user turn when alternation is required", () => {
    const h = toHistory([
      { kind: "system", tokens: 10 },
      { kind: "user", tokens: 3000 },
      { kind: "assistant", tokens: 100 },
      { kind: "tools", calls: 1, order: [0], tokens: [100], reasoning: false, between: true, image: false },
      { kind: "assistant", tokens: 100 },
    ]);
    const w = buildWindow(h, { model: model(1000, true), pruning: false });
    assert.equal(w.items[1]?.id, OMITTED_ITEM_ID);
    assert.match(openerText(w.items[1]), /earlier conversation omitted to fit the context window/);
    assert.deepEqual(checkWindowInvariants(h, w, true), []);
    assert.ok(w.tokens <= w.budget);
  });

  // A history that starts with the assistant (a stateless request may) was opened with "earlier
  // conversation omitted", though nothing was: the opener now says where the conversation starts.
  it("opens a history starting with the assistant without claiming anything was omitted", () => {
    const h = toHistory([
      { kind: "system", tokens: 10 },
      { kind: "assistant", tokens: 50 },
      { kind: "user", tokens: 50 },
    ]);
    const w = buildWindow(h, { model: model(100_000, true), pruning: false });
    assert.equal(w.droppedCount, 0);
    assert.equal(w.items[1]?.id, OMITTED_ITEM_ID);
    assert.equal(openerText(w.items[1]), "[holdfast: start of the conversation]");
    assert.deepEqual(checkWindowInvariants(h, w, true), []);
    // Older items the caller did not load (a store read of only the newest) were omitted.
    const partial = buildWindow(h, { model: model(100_000, true), pruning: false, olderNotLoaded: true });
    assert.match(openerText(partial.items[1]), /earlier conversation omitted/);
  });

  it("puts the summary where its range was and drops what it covers", () => {
    const h = toHistory([
      { kind: "system", tokens: 10 },
      { kind: "user", tokens: 100 },
      { kind: "assistant", tokens: 100 },
      { kind: "user", tokens: 100 },
      { kind: "summary", back: 1 },
      { kind: "assistant", tokens: 100 },
    ]);
    const w = buildWindow(h, { model: model(100_000) });
    assert.deepEqual(
      w.items.map((i) => (i.type === "summary" ? "S" : i.seq)),
      [1, "S", 4, 6],
    );
    assert.equal(w.summaryUsed, true);
    assert.equal(w.droppedCount, 2);
  });

  it("validates options naming the field", () => {
    assert.throws(() => buildWindow([], { model: model(1000), reserve: -1 }), /reserve must be/);
    assert.throws(() => buildWindow([], { model: model(1000), maxOutputTokens: 5000 }), /maxOutputTokens/);
    assert.throws(() => buildWindow([], { model: "no-such-model" }), /Unknown model 'no-such-model'/);
  });

  it("caches the index per array and sees appended items", () => {
    const h = toHistory([{ kind: "user", tokens: 10 }]);
    assert.equal(buildWindow(h, { model: model(1000) }).items.length, 1);
    h.push({ ...(h[0] as Item), seq: 2, id: "i2" });
    assert.equal(buildWindow(h, { model: model(1000) }).items.length, 2);
  });

  it("with cacheIndex false neither reads nor keeps a cached index", () => {
    const three = (): Item[] =>
      toHistory([
        { kind: "user", tokens: 10 },
        { kind: "assistant", tokens: 10 },
        { kind: "user", tokens: 10 },
      ]);
    // Editing in place at the same length is what the cache cannot see: its index goes stale.
    const grow = (items: Item[]): void => {
      items[0] = { ...(items[0] as Item), tokens: 1000 };
    };
    const fit = { model: model(1000), maxInputTokens: 100 };
    const h = three();
    assert.equal(buildWindow(h, fit).items.length, 3);
    grow(h);
    assert.equal(buildWindow(h, fit).items.length, 3, "the default reuses the index built before the edit");
    assert.equal(buildWindow(h, { ...fit, cacheIndex: false }).items.length, 2);
    // An uncached call leaves nothing behind for the next cached one.
    const other = three();
    assert.equal(buildWindow(other, { ...fit, cacheIndex: false }).items.length, 3);
    grow(other);
    assert.equal(buildWindow(other, fit).items.length, 2);
  });
});
