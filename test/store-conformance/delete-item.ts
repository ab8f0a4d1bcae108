import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Item, ItemInput, SessionStore } from "../../src/store/types.ts";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

function msg(text: string, tokens: number): ItemInput {
  return { ...message("user", text), tokens };
}

function call(callId: string, tokens = 5): ItemInput {
  return { content: { type: "function_call", call_id: callId, name: "lookup", arguments: "{}" }, tokens };
}

function output(callId: string, tokens = 5): ItemInput {
  return { content: { type: "function_call_output", call_id: callId, output: "result" }, tokens };
}

const seqs = (items: Item[]): number[] => items.map((i) => i.seq);

async function allItems(store: SessionStore, t: string, id: string): Promise<Item[]> {
  return store.readItems(t, id, { limit: 10_000 });
}

export function testDeleteItemCases({ store, tenant }: ConformanceContext): void {
  describe("deleting items", () => {
    it("removes the item from every read, keeps other seqs and keeps the counters exact", async () => {
      const t = tenant();
      const s = await store().create(t, { items: [msg("a", 10), msg("b", 20), msg("c", 30), msg("d", 40)] });
      const before = await allItems(store(), t, s.id);
      const b = before[1]!;
      const after = await store().deleteItem(t, s.id, b.id);
      assert.equal(after.version, s.version + 1);
      assert.equal(after.itemCount, 3);
      assert.equal(after.lastSeq, 4);
      assert.equal(after.tokenCount, 80);
      assert.equal(after.bytes, s.bytes - b.bytes);
      assert.deepEqual(await store().get(t, s.id), after);
      const items = await allItems(store(), t, s.id);
      assert.deepEqual(seqs(items), [1, 3, 4]);
      assert.deepEqual(items, [before[0], before[2], before[3]]);
      await rejectsWithCode(store().getItem(t, s.id, b.id), "not_found");
      await rejectsWithCode(store().deleteItem(t, s.id, b.id), "not_found");
      const window = await store().readWindow(t, s.id, { maxTokens: 1000 });
      assert.deepEqual(seqs(window.items), [1, 3, 4]);
      assert.equal(window.tokens, 80);
      assert.equal(window.truncated, false);
      assert.equal(window.sessionVersion, after.version);
    });

    it("never reuses a seq: appends continue after the newest seq ever assigned", async () => {
      const t = tenant();
      const s = await store().create(t, { items: [msg("a", 1), msg("b", 1), msg("c", 1)] });
      const [, , c] = await allItems(store(), t, s.id);
      const after = await store().deleteItem(t, s.id, c!.id);
      assert.deepEqual([after.itemCount, after.lastSeq], [2, 3]);
      const appended = await store().append(t, s.id, [msg("d", 1), msg("e", 1)]);
      assert.deepEqual([appended.firstSeq, appended.lastSeq], [4, 5]);
      assert.deepEqual(seqs(appended.items), [4, 5]);
      const head = await store().get(t, s.id);
      assert.deepEqual([head.itemCount, head.lastSeq, head.tokenCount], [4, 5, 4]);
      assert.deepEqual(seqs(await allItems(store(), t, s.id)), [1, 2, 4, 5]);
    });

    it("pages and windows across gaps", async () => {
      const t = tenant();
      const s = await store().create(t, {
        items: Array.from({ length: 10 }, (_, i) => msg(`m${i + 1}`, 10)),
      });
      const all = await allItems(store(), t, s.id);
      for (const seq of [2, 3, 7, 10]) await store().deleteItem(t, s.id, all[seq - 1]!.id);
      const remaining = [1, 4, 5, 6, 8, 9];
      const pages: number[][] = [];
      for (let afterSeq = 0; ; ) {
        const page = await store().readItems(t, s.id, { afterSeq, limit: 2 });
        if (page.length === 0) break;
        pages.push(seqs(page));
        afterSeq = page.at(-1)!.seq;
      }
      assert.deepEqual(pages, [
        [1, 4],
        [5, 6],
        [8, 9],
      ]);
      const desc = await store().readItems(t, s.id, { beforeSeq: 8, limit: 3, order: "desc" });
      assert.deepEqual(seqs(desc), [6, 5, 4]);
      const head = await store().get(t, s.id);
      assert.deepEqual([head.itemCount, head.lastSeq, head.tokenCount], [6, 10, 60]);
      const window = await store().readWindow(t, s.id, { maxTokens: 35 });
      assert.deepEqual(seqs(window.items), [6, 8, 9]);
      assert.deepEqual([window.tokens, window.fromSeq, window.truncated], [30, 6, true]);
      const whole = await store().readWindow(t, s.id, { maxTokens: 60 });
      assert.deepEqual(seqs(whole.items), remaining);
      assert.equal(whole.truncated, false);
      // Appends after the gap extend windows as usual.
      await store().append(t, s.id, [msg("new", 10)]);
      const next = await store().readWindow(t, s.id, { maxTokens: 25 });
      assert.deepEqual(seqs(next.items), [9, 11]);
    });

    it("deletes a function call and its output together, from either side", async () => {
      const t = tenant();
      const s = await store().create(t, {
        items: [
          msg("q", 5),
          call("c1"),
          output("c1"),
          msg("mid", 5),
          call("c2"),
          output("c2"),
          msg("end", 5),
        ],
      });
      const all = await allItems(store(), t, s.id);
      const byCall = await store().deleteItem(t, s.id, all[1]!.id);
      assert.deepEqual([byCall.itemCount, byCall.version, byCall.tokenCount], [5, s.version + 1, 25]);
      assert.deepEqual(seqs(await allItems(store(), t, s.id)), [1, 4, 5, 6, 7]);
      const byOutput = await store().deleteItem(t, s.id, all[5]!.id);
      assert.deepEqual([byOutput.itemCount, byOutput.version, byOutput.tokenCount], [3, s.version + 2, 15]);
      assert.deepEqual(seqs(await allItems(store(), t, s.id)), [1, 4, 7]);
      // No orphan output is left to cut the window short.
      const window = await store().readWindow(t, s.id, { maxTokens: 1000 });
      assert.deepEqual(seqs(window.items), [1, 4, 7]);
    });

    it("finds the partner across parallel calls and long histories", async () => {
      const t = tenant();
      // More than one page (1,000 items) between the calls and their outputs.
      const filler = (from: number) => Array.from({ length: 550 }, (_, i) => msg(`f${from + i}`, 1));
      const s = await store().create(t, { items: [call("p1"), call("p2")] });
      await store().append(t, s.id, filler(0));
      await store().append(t, s.id, filler(550));
      await store().append(t, s.id, [output("p1"), output("p2")]);
      const [p1] = await allItems(store(), t, s.id);
      const after = await store().deleteItem(t, s.id, p1!.id);
      assert.deepEqual([after.itemCount, after.lastSeq], [1102, 1104]);
      const tail = await store().readItems(t, s.id, { order: "desc", limit: 2 });
      assert.deepEqual(
        tail.map((i) => [i.seq, i.content.call_id ?? null]),
        [
          [1104, "p2"],
          [1102, null],
        ],
      );
      const byOutput = await store().deleteItem(t, s.id, tail[0]!.id);
      assert.equal(byOutput.itemCount, 1100);
      const [first] = await store().readItems(t, s.id, { limit: 1 });
      assert.equal(first!.seq, 3, "both calls are gone with their outputs");
    });

    it("deletes a call with no output yet on its own, and an output whose call is gone", async () => {
      const t = tenant();
      const s = await store().create(t, { items: [msg("q", 5), call("lonely")] });
      const [, lonely] = await allItems(store(), t, s.id);
      const after = await store().deleteItem(t, s.id, lonely!.id);
      assert.equal(after.itemCount, 1);
      await store().append(t, s.id, [output("orphan")]);
      const [, orphan] = await allItems(store(), t, s.id);
      assert.equal((await store().deleteItem(t, s.id, orphan!.id)).itemCount, 1);
    });

    it("rejects unknown items, foreign tenants, bad ids and moved versions", async () => {
      const t = tenant();
      const s = await store().create(t, { items: [msg("a", 1), msg("b", 1)] });
      const [a] = await allItems(store(), t, s.id);
      await rejectsWithCode(store().deleteItem(t, s.id, "msg_missing"), "not_found");
      await rejectsWithCode(store().deleteItem(tenant(), s.id, a!.id), "not_found");
      await rejectsWithCode(
        store().deleteItem(t, "conv_0123456789abcdef0123456789abcdef", a!.id),
        "not_found",
      );
      await rejectsWithCode(store().deleteItem(t, s.id, ""), "invalid_argument");
      await rejectsWithCode(
        store().deleteItem(t, s.id, a!.id, { expectedVersion: s.version + 5 }),
        "conflict",
      );
      const head = await store().get(t, s.id);
      assert.deepEqual([head.version, head.itemCount], [s.version, 2]);
      const ok = await store().deleteItem(t, s.id, a!.id, { expectedVersion: s.version });
      assert.equal(ok.version, s.version + 1);
    });

    it("keeps idempotent replays of earlier appends safe", async () => {
      const t = tenant();
      const s = await store().create(t);
      const batch = [msg("x", 1), msg("y", 1)];
      const first = await store().append(t, s.id, batch, { operationId: "op-1" });
      await store().deleteItem(t, s.id, first.items[0]!.id);
      const replay = await store().append(t, s.id, batch, { operationId: "op-1" });
      assert.equal(replay.replayed, true);
      assert.deepEqual([replay.version, replay.firstSeq, replay.lastSeq], [first.version, 1, 2]);
      // The replay reports what is left of that append; it writes nothing back.
      assert.deepEqual(replay.items, [first.items[1]]);
      const head = await store().get(t, s.id);
      assert.deepEqual([head.itemCount, head.lastSeq, head.version], [1, 2, first.version + 1]);
      await rejectsWithCode(
        store().append(t, s.id, [msg("z", 1)], { operationId: "op-1" }),
        "idempotency_conflict",
      );
    });

    it("forks a session with gaps, up to its newest seq", async () => {
      const t = tenant();
      const s = await store().create(t, { items: [msg("a", 1), msg("b", 2), msg("c", 3), msg("d", 4)] });
      const all = await allItems(store(), t, s.id);
      await store().deleteItem(t, s.id, all[3]!.id);
      await store().deleteItem(t, s.id, all[1]!.id);
      const whole = await store().fork(t, s.id);
      assert.deepEqual([whole.itemCount, whole.lastSeq, whole.tokenCount], [2, 4, 4]);
      assert.deepEqual(whole.forkParent, { sessionId: s.id, atSeq: 4 });
      assert.deepEqual(seqs(await allItems(store(), t, whole.id)), [1, 3]);
      const grown = await store().append(t, whole.id, [msg("e", 1)]);
      assert.equal(grown.firstSeq, 5);
      const part = await store().fork(t, s.id, { atSeq: 2 });
      assert.deepEqual([part.itemCount, part.lastSeq, part.tokenCount], [1, 2, 1]);
      assert.deepEqual(seqs((await store().readWindow(t, part.id, { maxTokens: 100 })).items), [1]);
      await rejectsWithCode(store().fork(t, s.id, { atSeq: 5 }), "invalid_argument");
    });

    it("frees the id of a deleted item", async () => {
      const t = tenant();
      const s = await store().create(t, { items: [{ id: "msg_reused", ...msg("a", 1) }] });
      await store().deleteItem(t, s.id, "msg_reused");
      const again = await store().append(t, s.id, [{ id: "msg_reused", ...msg("b", 1) }]);
      assert.equal(again.firstSeq, 2);
      assert.equal((await store().getItem(t, s.id, "msg_reused")).seq, 2);
    });
  });
}
