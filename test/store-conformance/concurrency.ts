import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HoldfastError } from "../../src/store/errors.ts";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

const APPENDERS = 50;

export function testConcurrencyCases({ store, tenant }: ConformanceContext): void {
  describe("concurrency", () => {
    it(`${APPENDERS} concurrent appenders with expectedVersion: exactly one wins per version`, async () => {
      const t = tenant();
      const s = await store().create(t);
      const results = await Promise.allSettled(
        Array.from({ length: APPENDERS }, (_, i) =>
          store().append(t, s.id, [message("user", `racer ${i}`)], { expectedVersion: 1 }),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1);
      for (const r of lost)
        assert.equal(((r as PromiseRejectedResult).reason as HoldfastError).code, "conflict");
      // Now every racer retries from a fresh read until it lands: one winner per version, all land.
      const seen = new Map<number, number>();
      await Promise.all(
        Array.from({ length: APPENDERS }, async (_, i) => {
          for (;;) {
            const head = await store().get(t, s.id);
            try {
              const r = await store().append(t, s.id, [message("user", `retry ${i}`)], {
                expectedVersion: head.version,
              });
              seen.set(r.version, (seen.get(r.version) ?? 0) + 1);
              return;
            } catch (error) {
              if ((error as HoldfastError).code !== "conflict") throw error;
            }
          }
        }),
      );
      assert.equal(seen.size, APPENDERS);
      for (const count of seen.values()) assert.equal(count, 1);
      const items = await store().readItems(t, s.id, { limit: 1000 });
      assert.deepEqual(
        items.map((i) => i.seq),
        Array.from({ length: APPENDERS + 1 }, (_, i) => i + 1),
      );
      assert.equal((await store().get(t, s.id)).version, APPENDERS + 2);
    });

    it(`${APPENDERS} concurrent appenders without expectedVersion: all land, no gaps`, async () => {
      const t = tenant();
      const s = await store().create(t);
      const results = await Promise.all(
        Array.from({ length: APPENDERS }, (_, i) =>
          store().append(t, s.id, [message("user", `q${i}`), message("assistant", `a${i}`)], {
            operationId: `op-${i}`,
          }),
        ),
      );
      const items = await store().readItems(t, s.id, { limit: 1000 });
      assert.deepEqual(
        items.map((i) => i.seq),
        Array.from({ length: APPENDERS * 2 }, (_, i) => i + 1),
      );
      // Each append's two items are adjacent: appends never interleave.
      results.forEach((r, i) => {
        assert.equal(r.lastSeq, r.firstSeq + 1);
        assert.ok(JSON.stringify(items[r.firstSeq - 1]?.content).includes(`"q${i}"`));
        assert.ok(JSON.stringify(items[r.lastSeq - 1]?.content).includes(`"a${i}"`));
      });
      const versions = new Set(results.map((r) => r.version));
      assert.equal(versions.size, APPENDERS);
      // Retrying every one of them replays and writes nothing.
      await Promise.all(
        Array.from({ length: APPENDERS }, (_, i) =>
          store().append(t, s.id, [message("user", `q${i}`), message("assistant", `a${i}`)], {
            operationId: `op-${i}`,
          }),
        ),
      );
      assert.equal((await store().get(t, s.id)).itemCount, APPENDERS * 2);
    });

    it("concurrent state patches without expectedVersion all land", async () => {
      const t = tenant();
      const s = await store().create(t);
      await Promise.all(Array.from({ length: 20 }, (_, i) => store().patchState(t, s.id, { [`k${i}`]: i })));
      const state = (await store().get(t, s.id)).state;
      assert.equal(Object.keys(state).length, 20);
    });

    it("a fork racing the delete of its parent leaves a readable child, or fails with not_found and leaves none", async () => {
      const t = tenant();
      // Each round lets the delete start a few steps later, so it lands at every point of the fork.
      for (let delay = 0; delay < 12; delay++) {
        const parent = await store().create(t, {
          state: { note: "copied" },
          items: [message("user", "copied")],
        });
        const childId = `conv_forkrace${String(delay).padStart(4, "0")}`;
        const deleting = (async () => {
          for (let step = 0; step < delay; step++) await Promise.resolve();
          await store().delete(t, parent.id);
        })();
        const [fork] = await Promise.allSettled([store().fork(t, parent.id, { id: childId }), deleting]);
        if (fork.status === "rejected") {
          assert.equal(
            (fork.reason as HoldfastError).code,
            "not_found",
            `round ${delay}: ${String(fork.reason)}`,
          );
          await rejectsWithCode(store().get(t, childId), "not_found");
          continue;
        }
        assert.deepEqual((await store().get(t, childId)).state, { note: "copied" }, `round ${delay}`);
        assert.deepEqual(
          (await store().readItems(t, childId)).map((i) => i.content),
          [message("user", "copied").content],
        );
      }
    });

    it("a read racing the delete of its session answers the data or not_found, never another error", async () => {
      const t = tenant();
      const reads: [string, (id: string, itemId: string) => Promise<unknown>][] = [
        ["get", (id) => store().get(t, id)],
        ["readItems", (id) => store().readItems(t, id)],
        ["getItem", (id, itemId) => store().getItem(t, id, itemId)],
        ["readWindow", (id) => store().readWindow(t, id, { maxTokens: 1000 })],
        ["list", () => store().list(t)],
      ];
      for (const [name, read] of reads) {
        const s = await store().create(t, { state: { note: "sealed when encrypted" } });
        const { items } = await store().append(t, s.id, [message("user", "doomed")]);
        const [answer] = await Promise.allSettled([read(s.id, items[0]!.id), store().delete(t, s.id)]);
        if (answer.status === "rejected")
          assert.equal(
            (answer.reason as HoldfastError).code,
            "not_found",
            `${name}: ${String(answer.reason)}`,
          );
      }
    });
  });
}
