import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ListSort, Session } from "../../src/store/types.ts";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

export function testListCases({ store, clock, tenant }: ConformanceContext): void {
  describe("list", () => {
    it("pages newest first and oldest first with stable cursors", async () => {
      const t = tenant();
      const created: Session[] = [];
      for (let i = 0; i < 12; i++) {
        created.push(await store().create(t));
        if (i % 3 === 0) clock.now += 1;
      }
      const pageAll = async (order: "asc" | "desc") => {
        const ids: string[] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await store().list(t, { order, limit: 5, cursor });
          ids.push(...page.data.map((s) => s.id));
          if (!page.nextCursor) return ids;
          cursor = page.nextCursor;
        }
      };
      const byCreation = [...created].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      assert.deepEqual(
        await pageAll("asc"),
        byCreation.map((s) => s.id),
      );
      assert.deepEqual(await pageAll("desc"), byCreation.map((s) => s.id).reverse());
      await rejectsWithCode(store().list(t, { cursor: "garbage!" }), "invalid_argument");
      await rejectsWithCode(store().list(t, { limit: 0 }), "invalid_argument");
    });

    it("stays stable while writes happen between pages", async () => {
      const t = tenant();
      const initial = new Set<string>();
      for (let i = 0; i < 15; i++) initial.add((await store().create(t)).id);
      clock.now += 1;
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store().list(t, { limit: 4, cursor });
        seen.push(...page.data.map((s) => s.id));
        // Writes between pages: appends to listed sessions, new sessions, a state patch.
        for (const s of page.data) await store().append(t, s.id, [message("user", "moved")]);
        await store().create(t);
        clock.now += 1;
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      assert.equal(seen.length, initial.size);
      assert.deepEqual(new Set(seen), initial);
    });

    it("filters by owner, label, status and update time", async () => {
      const t = tenant();
      const a = await store().create(t, { owner: "ann", labels: ["vip", "x"] });
      clock.now += 10;
      const b = await store().create(t, { owner: "ben", labels: ["x"] });
      clock.now += 10;
      const c = await store().create(t, { owner: "ann" });
      await store().update(t, c.id, { status: "archived" });
      const ids = async (q: Parameters<ReturnType<typeof store>["list"]>[1]) =>
        (await store().list(t, q)).data.map((s) => s.id).sort();
      assert.deepEqual(await ids({ owner: "ann" }), [a.id, c.id].sort());
      assert.deepEqual(await ids({ label: "x" }), [a.id, b.id].sort());
      assert.deepEqual(await ids({ label: "vip" }), [a.id]);
      assert.deepEqual(await ids({ status: "archived" }), [c.id]);
      assert.deepEqual(await ids({ status: "active", owner: "ann" }), [a.id]);
      assert.deepEqual(await ids({ updatedBefore: b.updatedAt }), [a.id]);
      assert.deepEqual(await ids({ updatedAfter: b.updatedAt }), [c.id]);
    });

    it("sorts by update time, item count and bytes, keyset-paged in both orders", async () => {
      const t = tenant();
      // Item counts with ties (the id breaks them), sizes that differ from the counts, updates
      // in another order than creation.
      const counts = [3, 1, 0, 3, 2, 1, 0, 3];
      const made: Session[] = [];
      for (const [i, n] of counts.entries()) {
        const items = Array.from({ length: n }, (_, k) =>
          message("user", "x".repeat(1 + ((i * 7 + k * 13) % 40))),
        );
        made.push(await store().create(t, n > 0 ? { items } : {}));
        clock.now += 1;
      }
      for (const i of [5, 0, 6]) {
        await store().update(t, made[i]!.id, { labels: ["touched"] });
        clock.now += 1;
      }
      await store().patchState(t, made[2]!.id, { big: "y".repeat(500) });
      const sessions = await Promise.all(made.map((m) => store().get(t, m.id)));
      const value: Record<ListSort, (s: Session) => number> = {
        created: (s) => s.createdAt,
        updated: (s) => s.updatedAt,
        items: (s) => s.itemCount,
        bytes: (s) => s.bytes,
      };
      for (const sort of ["updated", "items", "bytes", "created"] as const) {
        const expected = [...sessions]
          .sort((a, b) => value[sort](a) - value[sort](b) || (a.id < b.id ? -1 : 1))
          .map((s) => s.id);
        for (const order of ["asc", "desc"] as const) {
          const ids: string[] = [];
          let cursor: string | undefined;
          for (let pages = 0; pages < 10; pages++) {
            const page = await store().list(t, { sort, order, limit: 3, cursor });
            ids.push(...page.data.map((s) => s.id));
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          assert.deepEqual(ids, order === "asc" ? expected : [...expected].reverse(), `${sort} ${order}`);
        }
      }
      const filtered = await store().list(t, { sort: "items", label: "touched", order: "asc" });
      assert.deepEqual(
        filtered.data.map((s) => s.id),
        [made[6]!.id, made[5]!.id, made[0]!.id],
      );
    });

    it("a paging run over a changing sort lists no session twice, and every unchanged one once", async () => {
      // Keys that change between pages move sessions past the cursor. The guarantee: each
      // session not written during the run appears exactly once; one written meanwhile at most once.
      for (const sort of ["updated", "items", "bytes"] as const) {
        for (const order of ["asc", "desc"] as const) {
          const t = tenant();
          const made: Session[] = [];
          for (let i = 0; i < 9; i++) {
            const items = Array.from({ length: 1 + (i % 4) }, (_, k) => message("user", `m${i}-${k}`));
            made.push(await store().create(t, { items }));
            clock.now += 1;
          }
          const changed = new Set<string>();
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let pages = 0; pages < 20; pages++) {
            const page = await store().list(t, { sort, order, limit: 2, cursor });
            seen.push(...page.data.map((s) => s.id));
            clock.now += 1;
            // On the first pages, grow every listed session (it moves ahead in asc) and shrink an
            // unlisted one (it moves back in asc): both cross the cursor. Later pages write nothing.
            for (const s of pages < 2 ? page.data : []) {
              await store().append(t, s.id, [message("user", "grown"), message("user", "again")]);
              changed.add(s.id);
            }
            const unlisted = made.find((m) => !seen.includes(m.id) && !changed.has(m.id));
            if (unlisted && pages < 2) {
              const [first] = await store().readItems(t, unlisted.id, { limit: 1 });
              await store().deleteItem(t, unlisted.id, first!.id);
              changed.add(unlisted.id);
            }
            clock.now += 1;
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          const label = `${sort} ${order}`;
          assert.ok(made.length - changed.size >= 3, `${label}: some sessions stay unchanged`);
          assert.equal(new Set(seen).size, seen.length, `${label}: a session was listed twice`);
          for (const m of made) {
            if (!changed.has(m.id)) assert.ok(seen.includes(m.id), `${label}: unchanged ${m.id} skipped`);
          }
        }
      }
    });

    it("lists the direct forks of a session", async () => {
      const t = tenant();
      const parent = await store().create(t, { items: [message("user", "a"), message("user", "b")] });
      const other = await store().create(t);
      const first = await store().fork(t, parent.id, { atSeq: 1 });
      clock.now += 1;
      const second = await store().fork(t, parent.id);
      const grandchild = await store().fork(t, first.id);
      await store().fork(t, other.id);
      const forks = await store().list(t, { forkOf: parent.id, order: "asc" });
      assert.deepEqual(
        forks.data.map((s) => s.id),
        [first.id, second.id],
      );
      assert.deepEqual(
        (await store().list(t, { forkOf: first.id })).data.map((s) => s.id),
        [grandchild.id],
      );
      assert.deepEqual((await store().list(t, { forkOf: grandchild.id })).data, []);
      assert.deepEqual((await store().list(tenant(), { forkOf: parent.id })).data, [], "tenant-scoped");
      await rejectsWithCode(store().list(t, { forkOf: "not-a-session" }), "invalid_argument");
    });

    it("filters by creation time and byte size; a cursor continues only its own sort", async () => {
      const t = tenant();
      const small = await store().create(t);
      clock.now += 10;
      const big = await store().create(t, { items: [message("user", "z".repeat(2000))] });
      clock.now += 10;
      const mid = await store().create(t, { items: [message("user", "z".repeat(200))] });
      const ids = async (q: Parameters<ReturnType<typeof store>["list"]>[1]) =>
        (await store().list(t, q)).data.map((s) => s.id).sort();
      assert.deepEqual(await ids({ createdBefore: big.createdAt }), [small.id]);
      assert.deepEqual(await ids({ createdAfter: big.createdAt }), [mid.id]);
      assert.deepEqual(await ids({ minBytes: mid.bytes }), [big.id, mid.id].sort());
      assert.deepEqual(await ids({ maxBytes: mid.bytes }), [small.id, mid.id].sort());
      assert.deepEqual(await ids({ minBytes: mid.bytes + 1, maxBytes: big.bytes, sort: "bytes" }), [big.id]);
      const first = await store().list(t, { sort: "bytes", limit: 1 });
      assert.deepEqual(
        first.data.map((s) => s.id),
        [big.id],
      );
      assert.ok(first.nextCursor);
      await rejectsWithCode(store().list(t, { sort: "items", cursor: first.nextCursor }), "invalid_argument");
      await rejectsWithCode(store().list(t, { cursor: first.nextCursor }), "invalid_argument");
      await rejectsWithCode(store().list(t, { sort: "size" as ListSort }), "invalid_argument");
      await rejectsWithCode(store().list(t, { minBytes: -1 }), "invalid_argument");
      const next = await store().list(t, { sort: "bytes", limit: 5, cursor: first.nextCursor });
      assert.deepEqual(
        next.data.map((s) => s.id),
        [mid.id, small.id],
      );
    });
  });
}
