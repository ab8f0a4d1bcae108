import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Item, ItemInput } from "../../src/store/types.ts";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

function call(callId: string): ItemInput {
  return { content: { type: "function_call", call_id: callId, name: "lookup", arguments: "{}" } };
}

function output(callId: string): ItemInput {
  return { content: { type: "function_call_output", call_id: callId, output: "result" } };
}

/** Checks the window invariants against the full history. */
function assertValidWindow(items: Item[], all: Item[], maxTokens: number): void {
  const tokens = items.reduce((n, i) => n + i.tokens, 0);
  assert.ok(tokens <= maxTokens, `window holds ${tokens} tokens, budget ${maxTokens}`);
  if (items.length > 0) {
    // A contiguous suffix: in order, no gaps, ending at the newest item.
    const first = items[0]!.seq;
    assert.deepEqual(
      items.map((i) => i.seq),
      all.slice(first - 1).map((i) => i.seq),
    );
  }
  const calls = new Set<string>();
  for (const item of items) {
    const id = item.content.call_id as string | undefined;
    if (item.type === "function_call" && id) calls.add(id);
    if (item.type === "function_call_output")
      assert.ok(id && calls.has(id), `orphan output ${id} at seq ${item.seq}`);
  }
}

export function testWindowCases({ store, tenant }: ConformanceContext): void {
  describe("windows", () => {
    it("returns the newest items that fit, by token budget", async () => {
      const t = tenant();
      const s = await store().create(t);
      await store().append(
        t,
        s.id,
        Array.from({ length: 10 }, (_, i) => ({ ...message("user", `m${i}`), tokens: 10 })),
      );
      const w = await store().readWindow(t, s.id, { maxTokens: 35 });
      assert.deepEqual(
        w.items.map((i) => i.seq),
        [8, 9, 10],
      );
      assert.equal(w.tokens, 30);
      assert.equal(w.truncated, true);
      assert.equal(w.fromSeq, 8);
      const all = await store().readWindow(t, s.id, { maxTokens: 100 });
      assert.equal(all.items.length, 10);
      assert.equal(all.truncated, false);
      const none = await store().readWindow(t, s.id, { maxTokens: 5 });
      assert.equal(none.items.length, 0);
      await rejectsWithCode(store().readWindow(t, s.id, { maxTokens: -1 }), "invalid_argument");
    });

    it("never starts with an orphan function output", async () => {
      const t = tenant();
      const s = await store().create(t);
      await store().append(t, s.id, [
        { ...message("user", "q"), tokens: 10 },
        { ...call("c1"), tokens: 10 },
        { ...call("c2"), tokens: 10 },
        { ...output("c1"), tokens: 10 },
        { ...output("c2"), tokens: 10 },
        { ...message("assistant", "done"), tokens: 10 },
      ]);
      // 40 tokens would start at c2 (seq 3): c1's output (seq 4) would be an orphan, and once the
      // window starts after it, so would c2's (seq 5). Only the final message remains.
      const w = await store().readWindow(t, s.id, { maxTokens: 40 });
      assert.deepEqual(
        w.items.map((i) => i.seq),
        [6],
      );
      const wide = await store().readWindow(t, s.id, { maxTokens: 50 });
      assert.deepEqual(
        wide.items.map((i) => i.seq),
        [2, 3, 4, 5, 6],
      );
    });

    it("leaves excluded item types out, choosing the range over every item", async () => {
      const t = tenant();
      const s = await store().create(t);
      const record = (n: number): ItemInput => ({ content: { type: "bookkeeping", n }, tokens: 0 });
      await store().append(t, s.id, [
        { ...message("user", "a"), tokens: 10 },
        { ...message("assistant", "b"), tokens: 10 },
        record(1),
        { ...message("user", "c"), tokens: 10 },
        { ...message("assistant", "d"), tokens: 10 },
        record(2),
      ]);
      const all = await store().readWindow(t, s.id, { maxTokens: 100, excludeTypes: ["bookkeeping"] });
      assert.deepEqual(
        all.items.map((i) => i.seq),
        [1, 2, 4, 5],
      );
      assert.equal(all.tokens, 40);
      assert.equal(all.fromSeq, 1);
      assert.equal(all.truncated, false);
      assert.deepEqual(all.items[2]!.content, message("user", "c").content);
      // 25 tokens: the range is seqs 3..6 (20 tokens, the record at seq 3 has none); 1 and 2 are left out.
      const part = await store().readWindow(t, s.id, {
        maxTokens: 25,
        excludeTypes: ["bookkeeping", "other"],
      });
      assert.deepEqual(
        part.items.map((i) => i.seq),
        [4, 5],
      );
      assert.equal(part.truncated, true);
      assert.equal(part.fromSeq, 4);
      // The same range without exclusion holds the records too.
      const plain = await store().readWindow(t, s.id, { maxTokens: 25 });
      assert.deepEqual(
        plain.items.map((i) => i.seq),
        [3, 4, 5, 6],
      );
      // Exclusion starting the session: the range still starts at seq 1, nothing older was left out.
      const s2 = await store().create(t);
      await store().append(t, s2.id, [record(0), { ...message("user", "x"), tokens: 5 }]);
      const w2 = await store().readWindow(t, s2.id, { maxTokens: 100, excludeTypes: ["bookkeeping"] });
      assert.deepEqual(
        w2.items.map((i) => i.seq),
        [2],
      );
      assert.equal(w2.truncated, false);
      const none = await store().readWindow(t, s2.id, {
        maxTokens: 100,
        excludeTypes: ["bookkeeping", "message"],
      });
      assert.deepEqual(none.items, []);
      assert.equal(none.truncated, false);
      await rejectsWithCode(
        store().readWindow(t, s.id, { maxTokens: 10, excludeTypes: "x" as never }),
        "invalid_argument",
      );
      await rejectsWithCode(
        store().readWindow(t, s.id, { maxTokens: 10, excludeTypes: [""] }),
        "invalid_argument",
      );
      await rejectsWithCode(
        store().readWindow(t, s.id, {
          maxTokens: 10,
          excludeTypes: Array.from({ length: 17 }, (_, i) => `t${i}`),
        }),
        "invalid_argument",
      );
    });

    it("holds the invariants over random histories (property)", async () => {
      const t = tenant();
      const itemArb = fc.oneof(
        fc.record({ kind: fc.constant("msg" as const), tokens: fc.integer({ min: 0, max: 50 }) }),
        fc.record({
          kind: fc.constant("tool" as const),
          calls: fc.integer({ min: 1, max: 3 }),
          tokens: fc.integer({ min: 0, max: 80 }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(itemArb, { minLength: 1, maxLength: 25 }),
          fc.integer({ min: 0, max: 400 }),
          async (plan, maxTokens) => {
            const s = await store().create(t);
            const batch: ItemInput[] = [];
            plan.forEach((step, n) => {
              if (step.kind === "msg") batch.push({ ...message("user", `m${n}`), tokens: step.tokens });
              else {
                const ids = Array.from({ length: step.calls }, (_, k) => `call_${n}_${k}`);
                for (const id of ids) batch.push({ ...call(id), tokens: step.tokens });
                for (const id of ids) batch.push({ ...output(id), tokens: step.tokens });
              }
            });
            await store().append(t, s.id, batch);
            const all = await store().readItems(t, s.id, { limit: 10_000 });
            const w = await store().readWindow(t, s.id, { maxTokens });
            assertValidWindow(w.items, all, maxTokens);
            await store().delete(t, s.id);
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}
