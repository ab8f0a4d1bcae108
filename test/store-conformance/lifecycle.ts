import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Session } from "../../src/store/types.ts";
import { type ConformanceContext, deepFreeze, message, rejectsWithCode } from "./index.ts";

export function testLifecycleCases({ store, clock, tenant }: ConformanceContext): void {
  describe("sessions", () => {
    it("creates a session with a conv_ id, defaults and counters", async () => {
      const t = tenant();
      const s = await store().create(t, { owner: "alice", metadata: { topic: "x" }, labels: ["a"] });
      assert.match(s.id, /^conv_[0-9a-f]{32}$/);
      assert.equal(s.tenant, t);
      assert.equal(s.owner, "alice");
      assert.deepEqual(s.metadata, { topic: "x" });
      assert.deepEqual(s.labels, ["a"]);
      assert.deepEqual(s.state, {});
      assert.equal(s.version, 1);
      assert.equal(s.itemCount, 0);
      assert.equal(s.tokenCount, 0);
      assert.equal(s.status, "active");
      assert.equal(s.pinned, false);
      assert.equal(s.forkParent, null);
      assert.equal(s.createdAt, clock.now);
      assert.deepEqual(await store().get(t, s.id), s);
    });

    it("creates with initial items atomically", async () => {
      const t = tenant();
      const s = await store().create(t, { items: [message("user", "hi"), message("assistant", "hello")] });
      assert.equal(s.itemCount, 2);
      assert.equal(s.version, 2);
      const items = await store().readItems(t, s.id);
      assert.deepEqual(
        items.map((i) => [i.seq, i.role]),
        [
          [1, "user"],
          [2, "assistant"],
        ],
      );
    });

    it("every write answers the session exactly as a get right after it reads it", async () => {
      const t = tenant();
      const same = async (written: Session) => assert.deepEqual(await store().get(t, written.id), written);
      const s = await store().create(t, {
        items: [message("user", "hi"), message("assistant", "hello")],
        state: { b: 1, a: 2 },
        metadata: { z: "1", a: "2" },
        labels: ["z", "a", "z"],
        owner: "o",
        pinned: true,
        idleTtlMs: 600_000,
      });
      assert.deepEqual([s.itemCount, s.lastSeq, s.version], [2, 2, 2]);
      await same(s);
      clock.now += 5;
      await same(await store().update(t, s.id, { labels: ["x"], expiresAt: clock.now + 600_000 }));
      clock.now += 5;
      await same(await store().patchState(t, s.id, { a: null, c: [1] }));
      clock.now += 5;
      await same(await store().touch(t, s.id));
      clock.now += 5;
      const [first] = await store().readItems(t, s.id);
      await same(await store().deleteItem(t, s.id, first!.id));
      clock.now += 5;
      await same(await store().fork(t, s.id));
      await same(await store().fork(t, s.id, { atSeq: 1, owner: null, state: {} }));
    });

    it("rejects a duplicate session id with conflict", async () => {
      const t = tenant();
      const s = await store().create(t);
      await rejectsWithCode(store().create(t, { id: s.id }), "conflict");
    });

    it("returns not_found for unknown, deleted and other tenants' sessions", async () => {
      const t = tenant();
      const other = tenant();
      const s = await store().create(t);
      await rejectsWithCode(store().get(t, "conv_00000000000000000000000000000000"), "not_found");
      await rejectsWithCode(store().get(other, s.id), "not_found");
      await rejectsWithCode(store().append(other, s.id, [message("user", "x")]), "not_found");
      await rejectsWithCode(store().readItems(other, s.id), "not_found");
      await rejectsWithCode(store().readWindow(other, s.id, { maxTokens: 100 }), "not_found");
      await rejectsWithCode(store().patchState(other, s.id, { a: 1 }), "not_found");
      await rejectsWithCode(store().update(other, s.id, { pinned: true }), "not_found");
      await rejectsWithCode(store().fork(other, s.id), "not_found");
      await rejectsWithCode(store().touch(other, s.id), "not_found");
      await rejectsWithCode(store().delete(other, s.id), "not_found");
      assert.equal((await store().list(other)).data.length, 0);
      await store().delete(t, s.id);
      await rejectsWithCode(store().get(t, s.id), "not_found");
      await rejectsWithCode(store().delete(t, s.id), "not_found");
    });

    it("rejects malformed input with invalid_argument and writes nothing", async () => {
      const t = tenant();
      const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
      await rejectsWithCode(store().create(t, { metadata: tooMany }), "invalid_argument");
      await rejectsWithCode(
        store().create(t, { metadata: { k: 5 as unknown as string } }),
        "invalid_argument",
      );
      await rejectsWithCode(store().get(t, "not-an-id"), "invalid_argument");
      await rejectsWithCode(
        store().get("bad tenant!", "conv_00000000000000000000000000000000"),
        "invalid_argument",
      );
      const s = await store().create(t);
      await rejectsWithCode(
        store().append(t, s.id, [message("user", "ok"), { content: { role: "user" } }]),
        "invalid_argument",
      );
      await rejectsWithCode(store().append(t, s.id, []), "invalid_argument");
      assert.equal((await store().get(t, s.id)).itemCount, 0);
      assert.equal((await store().list(t)).data.length, 1);
    });

    it("updates metadata, labels and flags with version checks", async () => {
      const t = tenant();
      const s = await store().create(t);
      const u = await store().update(
        t,
        s.id,
        { metadata: { a: "1" }, labels: ["x"], pinned: true },
        {
          expectedVersion: 1,
        },
      );
      assert.equal(u.version, 2);
      assert.deepEqual(u.metadata, { a: "1" });
      assert.equal(u.pinned, true);
      await rejectsWithCode(store().update(t, s.id, { pinned: false }, { expectedVersion: 1 }), "conflict");
      assert.equal((await store().get(t, s.id)).pinned, true);
      await rejectsWithCode(store().delete(t, s.id, { expectedVersion: 1 }), "conflict");
    });

    it("merges state with JSON Merge Patch (RFC 7386)", async () => {
      const t = tenant();
      const s = await store().create(t, { state: { a: { b: 1, c: 2 }, keep: true } });
      const p = await store().patchState(t, s.id, { a: { b: null, d: [1] }, n: "x" });
      assert.deepEqual(p.state, { a: { c: 2, d: [1] }, keep: true, n: "x" });
      assert.equal(p.version, 2);
      await rejectsWithCode(store().patchState(t, s.id, { z: 1 }, { expectedVersion: 1 }), "conflict");
      await rejectsWithCode(store().patchState(t, s.id, [1, 2]), "invalid_argument");
      const q = await store().patchState(t, s.id, { z: 1 }, { expectedVersion: 2 });
      assert.equal(q.state.z, 1);
    });

    it("merge patches: nested nulls, whole arrays, scalars to objects; the size limit applies to the result", async () => {
      const t = tenant();
      const s = await store().create(t, { state: { a: { b: { c: 1, d: 2 } }, arr: [1, 2, 3], s: "x" } });
      const p = await store().patchState(t, s.id, {
        a: { b: { c: null, e: { f: null } } },
        arr: [{ x: null }],
        s: { y: 1 },
        absent: null,
      });
      assert.deepEqual(p.state, { a: { b: { d: 2, e: {} } }, arr: [{ x: null }], s: { y: 1 } });
      assert.equal((await store().patchState(t, s.id, {})).version, p.version + 1);
      await rejectsWithCode(store().patchState(t, s.id, null), "invalid_argument");
      await rejectsWithCode(store().patchState(t, s.id, "text"), "invalid_argument");
      const half = "x".repeat(600_000);
      const big = await store().patchState(t, s.id, { big: half });
      await rejectsWithCode(store().patchState(t, s.id, { more: half }), "payload_too_large");
      await rejectsWithCode(store().create(t, { state: { a: half, b: half } }), "payload_too_large");
      const after = await store().get(t, s.id);
      assert.equal(after.version, big.version);
      assert.equal(after.state.more, undefined);
    });

    it("never mutates inputs and hands out copies", async () => {
      const t = tenant();
      const input = deepFreeze({
        owner: "o",
        metadata: { a: "b" },
        labels: ["l"],
        state: { deep: { x: 1 } },
        items: [message("user", "frozen")],
      });
      const s = await store().create(t, input);
      const items = deepFreeze([message("user", "again")]);
      await store().append(t, s.id, items, { operationId: "op-frozen" });
      await store().patchState(t, s.id, deepFreeze({ deep: { y: 2 } }));
      const read = await store().get(t, s.id);
      read.state.deep = "changed";
      read.labels.push("mutated");
      assert.deepEqual((await store().get(t, s.id)).state, { deep: { x: 1, y: 2 } });
      assert.deepEqual((await store().get(t, s.id)).labels, ["l"]);
      const [first] = await store().readItems(t, s.id);
      assert.ok(first);
      (first.content as Record<string, unknown>).role = "hacked";
      const [again] = await store().readItems(t, s.id);
      assert.equal(again?.content.role, "user");
    });

    it("refuses a new session whose expiry is already reached; an update to a past expiry hides it at once", async () => {
      const t = tenant();
      const id = "conv_expired_on_arrival";
      for (const expiresAt of [clock.now - 1, clock.now]) {
        await assert.rejects(store().create(t, { id, expiresAt, items: [message("user", "x")] }), (error) => {
          const e = error as { code?: string; param?: string };
          assert.equal(e.code, "invalid_argument", String(error));
          assert.equal(e.param, "expires_at");
          return true;
        });
      }
      // Nothing was written: the id is still free and the tenant lists nothing.
      assert.deepEqual((await store().list(t)).data, []);
      const parent = await store().create(t, { id, expiresAt: clock.now + 1 });
      assert.equal(parent.expiresAt, clock.now + 1);
      await rejectsWithCode(store().fork(t, parent.id, { expiresAt: clock.now }), "invalid_argument");
      assert.deepEqual(
        (await store().list(t)).data.map((s) => s.id),
        [parent.id],
      );
      const live = await store().create(t, { items: [message("user", "x")] });
      await store().update(t, live.id, { expiresAt: clock.now - 1000 });
      await rejectsWithCode(store().readItems(t, live.id), "not_found");
      await rejectsWithCode(store().update(t, live.id, { expiresAt: null }), "not_found");
      assert.deepEqual(
        (await store().list(t)).data.map((s) => s.id),
        [parent.id],
      );
    });

    it("hides expired sessions at once (idle TTL, touch, absolute expiry)", async () => {
      const t = tenant();
      const s = await store().create(t, { idleTtlMs: 60_000 });
      const abs = await store().create(t, { expiresAt: clock.now + 120_000 });
      clock.now += 59_000;
      await store().touch(t, s.id);
      clock.now += 59_000;
      assert.equal((await store().get(t, s.id)).id, s.id);
      await store().append(t, s.id, [message("user", "keeps it alive")]);
      clock.now += 59_999;
      assert.equal((await store().get(t, s.id)).id, s.id);
      clock.now += 1;
      await rejectsWithCode(store().get(t, s.id), "not_found");
      await rejectsWithCode(store().append(t, s.id, [message("user", "late")]), "not_found");
      await rejectsWithCode(store().readItems(t, s.id), "not_found");
      await rejectsWithCode(store().get(t, abs.id), "not_found");
      assert.deepEqual(
        (await store().list(t)).data.map((x) => x.id),
        [],
      );
    });
  });
}
