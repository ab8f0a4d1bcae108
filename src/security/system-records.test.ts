import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SessionStore } from "../store/types.ts";
import { createSystemRecords, mutateRecord, systemRecordId, systemTenant } from "./system-records.ts";
import { TEST_STORES } from "./test-support.ts";

for (const driver of TEST_STORES) {
  describe(`system records (${driver.name})`, () => {
    let store: SessionStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await driver.open());
    });
    after(() => cleanup());

    it("creates, reads with one get, updates with compare-and-swap and deletes", async () => {
      const records = createSystemRecords(store);
      assert.equal(await records.get("thing", "a"), null);
      const created = await records.create("thing", "a", { n: 1, gone: null }, { index: "grp" });
      assert.deepEqual(created.data, { n: 1, gone: null });
      assert.equal(created.index, "grp");
      const raw = await store.get(systemTenant("thing"), systemRecordId("thing", "a"));
      assert.equal(raw.tenant, "_hf_thing");
      assert.match(raw.id, /^conv_[0-9a-f]{32}$/);
      await assert.rejects(
        records.create("thing", "a", { n: 2 }),
        (e: unknown) => (e as { code: string }).code === "conflict",
      );
      const updated = await records.update("thing", "a", { n: 2, gone: null }, created.version);
      assert.deepEqual(updated.data, { n: 2, gone: null }, "null fields survive (no merge-patch deletion)");
      await assert.rejects(
        records.update("thing", "a", { n: 3 }, created.version),
        (e: unknown) => (e as { code: string }).code === "conflict",
      );
      assert.equal(await records.delete("thing", "a"), true);
      assert.equal(await records.delete("thing", "a"), false);
      assert.equal(await records.get("thing", "a"), null);
    });

    it("lists by index and serialises concurrent read-modify-writes", async () => {
      const records = createSystemRecords(store);
      for (const k of ["x", "y", "z"])
        await records.create("listed", k, { k }, { index: k === "z" ? "other" : "mine" });
      const mine: string[] = [];
      for await (const r of records.list<{ k: string }>("listed", { index: "mine" })) mine.push(r.data.k);
      assert.deepEqual(mine.sort(), ["x", "y"]);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          mutateRecord<{ count: number }>(records, "counter", "c", (cur) => ({
            count: (cur?.count ?? 0) + 1,
          })),
        ),
      );
      assert.equal((await records.get<{ count: number }>("counter", "c"))?.data.count, 20);
    });

    it("rejects records of an unknown schema version with a message saying what to do", async () => {
      const records = createSystemRecords(store);
      await store.create(systemTenant("future"), {
        id: systemRecordId("future", "k"),
        state: { v: 99, key: "k", data: "{}" },
      });
      await assert.rejects(records.get("future", "k"), /schema 99.*upgrade Holdfast/);
      assert.throws(() => systemTenant("Bad-Kind"), /lowercase/);
    });
  });
}
