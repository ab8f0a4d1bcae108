/**
 * Forks racing appends to and deletes of their parent. A fork reads its parent, then copies items
 * 1..atSeq: whatever lands in between, a fork either fails `not_found` and leaves no child, or
 * leaves a child that is one consistent snapshot of its parent — items 1..atSeq exactly as the
 * parent had them, whole appends only, counters (items, tokens) those of the copied items, the
 * parent's state, readable (an encrypted child holds the keys of every item it copied) and
 * writable after atSeq. Parents are fresh sessions and never-written forks (which, encrypted,
 * have no key of their own until their first write).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HoldfastError } from "../../src/store/errors.ts";
import type { AppendResult, JsonObject, Session } from "../../src/store/types.ts";
import { type ConformanceContext, message } from "./index.ts";

const ROUNDS = 8;
const APPENDS = 6;
const FORKS = 6;

/** Lets other calls run for `steps` turns of the event loop (I/O included). */
async function pause(steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await new Promise((resolve) => setImmediate(resolve));
}

function expectNotFound(reason: unknown, what: string): void {
  assert.equal((reason as HoldfastError).code, "not_found", `${what}: ${String(reason)}`);
}

export function testForkRaceCases({ store, tenant }: ConformanceContext): void {
  describe("forks racing appends and deletes", () => {
    it("every fork fails not_found and leaves nothing, or leaves one consistent, readable snapshot", async () => {
      const t = tenant();
      for (let round = 0; round < ROUNDS; round++) {
        const state = { round, note: "copied" };
        const origin = await store().create(t, { state, items: [message("user", `r${round} first`)] });
        // A never-written fork as a parent too: encrypted, it has no key of its own yet.
        const parents = [origin, await store().fork(t, origin.id)];
        for (const parent of parents) await race(t, round, parent, parents.indexOf(parent));
      }
    });

    async function race(t: string, round: number, parent: Session, which: number): Promise<void> {
      const label = `round ${round}, parent ${which}`;
      const seqContent = new Map<number, JsonObject>();
      for (const item of await store().readItems(t, parent.id)) seqContent.set(item.seq, item.content);
      const appended: AppendResult[] = [];
      const appends = Array.from({ length: APPENDS }, async (_, i) => {
        await pause(i % 3);
        const text = `${label} append ${i}`;
        const result = await store().append(t, parent.id, [
          message("user", `${text} q`),
          message("assistant", `${text} a`),
        ]);
        appended.push(result);
        for (const item of result.items) seqContent.set(item.seq, item.content);
      });
      const childIds = Array.from(
        { length: FORKS },
        (_, i) => `conv_fr${round}p${which}f${i}${"0".repeat(8)}`,
      );
      const forks = childIds.map(async (id, i) => {
        await pause(i);
        return store().fork(t, parent.id, { id });
      });
      const removal = (async () => {
        await pause(1 + ((round * 3 + which) % 7));
        await store().delete(t, parent.id);
      })();
      // Settled together: a rejection must find its handler already attached.
      const [appendOutcomes, forkOutcomes] = await Promise.all([
        Promise.allSettled(appends),
        Promise.allSettled(forks),
        removal,
      ]);
      for (const outcome of appendOutcomes) {
        if (outcome.status === "rejected") expectNotFound(outcome.reason, `${label}: an append`);
      }
      for (const [i, outcome] of forkOutcomes.entries()) {
        const what = `${label}, fork ${i}`;
        if (outcome.status === "rejected") {
          expectNotFound(outcome.reason, what);
          await assert.rejects(store().get(t, childIds[i]!), (error) => {
            expectNotFound(error, `${what} failed, yet its child`);
            return true;
          });
          continue;
        }
        await checkChild(t, outcome.value, parent, seqContent, appended, what);
      }
    }

    async function checkChild(
      t: string,
      child: Session,
      parent: Session,
      seqContent: Map<number, JsonObject>,
      appended: AppendResult[],
      what: string,
    ): Promise<void> {
      const atSeq = child.forkParent?.atSeq ?? -1;
      assert.equal(child.forkParent?.sessionId, parent.id, what);
      const items = await store().readItems(t, child.id, { limit: 1000 });
      assert.deepEqual(
        items.map((item) => item.seq),
        Array.from({ length: atSeq }, (_, k) => k + 1),
        `${what}: items 1..atSeq`,
      );
      for (const item of items)
        assert.deepEqual(item.content, seqContent.get(item.seq), `${what}: seq ${item.seq}`);
      // Appends are atomic: a snapshot holds all of one or none of it.
      for (const a of appended) {
        assert.ok(
          a.lastSeq <= atSeq || a.firstSeq > atSeq,
          `${what}: half of append ${a.firstSeq}..${a.lastSeq}`,
        );
      }
      const tokens = items.reduce((n, item) => n + item.tokens, 0);
      for (const head of [child, await store().get(t, child.id)]) {
        assert.equal(head.lastSeq, atSeq, `${what}: lastSeq`);
        assert.equal(head.itemCount, items.length, `${what}: itemCount`);
        assert.equal(head.tokenCount, tokens, `${what}: tokenCount`);
        assert.deepEqual(head.state, parent.state, `${what}: state`);
      }
      const window = await store().readWindow(t, child.id, { maxTokens: 1_000_000 });
      assert.deepEqual(
        window.items.map((item) => item.seq),
        items.map((item) => item.seq),
        `${what}: window`,
      );
      const next = await store().append(t, child.id, [message("user", `${what} own`)]);
      assert.equal(next.firstSeq, atSeq + 1, `${what}: next seq`);
      assert.equal((await store().readItems(t, child.id, { limit: 1000 })).length, atSeq + 1, what);
    }
  });
}
