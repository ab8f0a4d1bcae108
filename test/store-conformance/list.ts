import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Session } from "../../src/store/types.ts";
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
  });
}
