import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readHead } from "../../src/store/decorators/delegating-store.ts";
import type { AppendOptions, ItemInput } from "../../src/store/types.ts";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

export function testAppendCases({ store, tenant, clock }: ConformanceContext): void {
  describe("append", () => {
    it("assigns dense seq in commit order and bumps the version once per append", async () => {
      const t = tenant();
      const s = await store().create(t);
      const a = await store().append(t, s.id, [message("user", "one"), message("assistant", "two")]);
      assert.deepEqual([a.version, a.firstSeq, a.lastSeq, a.replayed], [2, 1, 2, false]);
      assert.deepEqual(
        a.items.map((i) => i.seq),
        [1, 2],
      );
      const b = await store().append(t, s.id, [message("user", "three")]);
      assert.deepEqual([b.version, b.firstSeq, b.lastSeq], [3, 3, 3]);
      const items = await store().readItems(t, s.id);
      assert.deepEqual(
        items.map((i) => i.seq),
        [1, 2, 3],
      );
      assert.equal(items[0]?.type, "message");
      assert.equal(items[0]?.role, "user");
      assert.deepEqual(items[0]?.content, message("user", "one").content);
      const got = await store().get(t, s.id);
      assert.equal(got.itemCount, 3);
      assert.equal(
        got.tokenCount,
        items.reduce((n, i) => n + i.tokens, 0),
      );
      assert.ok(got.bytes >= items.reduce((n, i) => n + i.bytes, 0));
    });

    it("a session's head answers what get says of its state, and not_found like get", async () => {
      const t = tenant();
      const s = await store().create(t, { idleTtlMs: 60_000, metadata: { k: "v" }, state: { n: 1 } });
      const appended = await store().append(t, s.id, [message("user", "one"), message("assistant", "two")]);
      await store().deleteItem(t, s.id, appended.items[0]!.id);
      await store().update(t, s.id, { status: "archived" });
      const got = await store().get(t, s.id);
      const head = await readHead(store(), t, s.id);
      assert.deepEqual(head, {
        id: got.id,
        version: got.version,
        createdAt: got.createdAt,
        itemCount: got.itemCount,
        lastSeq: got.lastSeq,
        tokenCount: got.tokenCount,
        status: "archived",
      });
      assert.deepEqual([head.itemCount, head.lastSeq], [1, 2]);
      await rejectsWithCode(readHead(store(), tenant(), s.id), "not_found");
      await rejectsWithCode(readHead(store(), t, "conv_missing000000"), "not_found");
      clock.now += 60_000;
      await rejectsWithCode(readHead(store(), t, s.id), "not_found");
    });

    it("refuses appends to an archived session (writing nothing) until it is active again", async () => {
      const t = tenant();
      const s = await store().create(t);
      const first = await store().append(t, s.id, [message("user", "one")], { operationId: "op-1" });
      const archived = await store().update(t, s.id, { status: "archived" });
      await rejectsWithCode(store().append(t, s.id, [message("user", "two")]), "session_archived");
      await rejectsWithCode(
        store().append(t, s.id, [message("user", "two")], { expectedVersion: archived.version }),
        "session_archived",
      );
      const after = await store().get(t, s.id);
      assert.deepEqual([after.version, after.itemCount], [archived.version, 1]);
      const replay = await store().append(t, s.id, [message("user", "one")], { operationId: "op-1" });
      assert.deepEqual([replay.replayed, replay.version], [true, first.version], "a replay still answers");
      assert.equal((await store().readItems(t, s.id)).length, 1, "its items stay readable");
      await store().update(t, s.id, { status: "active" });
      const next = await store().append(t, s.id, [message("user", "two")]);
      assert.equal(next.firstSeq, 2);
    });

    it("keeps caller ids and token counts, and retrieves one item by id", async () => {
      const t = tenant();
      const s = await store().create(t);
      await store().append(t, s.id, [
        { id: "msg_custom1", ...message("user", "x"), tokens: 42, turnId: "turn_1" },
      ]);
      const item = await store().getItem(t, s.id, "msg_custom1");
      assert.equal(item.tokens, 42);
      assert.equal(item.turnId, "turn_1");
      assert.equal(item.seq, 1);
      await rejectsWithCode(store().getItem(t, s.id, "msg_missing"), "not_found");
    });

    it("is atomic: a conflicting item id writes none of the batch", async () => {
      const t = tenant();
      const s = await store().create(t);
      await store().append(t, s.id, [{ id: "msg_dup", ...message("user", "a") }]);
      await rejectsWithCode(
        store().append(t, s.id, [message("user", "b"), { id: "msg_dup", ...message("user", "c") }]),
        "conflict",
      );
      const got = await store().get(t, s.id);
      assert.equal(got.itemCount, 1);
      assert.equal(got.version, 2);
    });

    it("replays an operation id: same payload returns the first result and writes nothing", async () => {
      const t = tenant();
      const s = await store().create(t);
      const first = await store().append(t, s.id, [message("user", "once")], { operationId: "op-1" });
      await store().append(t, s.id, [message("assistant", "between")]);
      const again = await store().append(t, s.id, [message("user", "once")], { operationId: "op-1" });
      assert.equal(again.replayed, true);
      // The answer of an append, nothing of the store's own record (such as its payload hash).
      assert.deepEqual(Object.keys(again).sort(), ["firstSeq", "items", "lastSeq", "replayed", "version"]);
      assert.deepEqual(
        [again.version, again.firstSeq, again.lastSeq],
        [first.version, first.firstSeq, first.lastSeq],
      );
      assert.deepEqual(
        again.items.map((i) => i.id),
        first.items.map((i) => i.id),
      );
      // Even with a now-stale expectedVersion: the first result wins, no conflict.
      const stale = await store().append(t, s.id, [message("user", "once")], {
        operationId: "op-1",
        expectedVersion: 1,
      });
      assert.equal(stale.replayed, true);
      assert.equal((await store().get(t, s.id)).itemCount, 2);
      await rejectsWithCode(
        store().append(t, s.id, [message("user", "different")], { operationId: "op-1" }),
        "idempotency_conflict",
      );
      assert.equal((await store().get(t, s.id)).itemCount, 2);
    });

    it("scopes operation ids to their session", async () => {
      const t = tenant();
      const a = await store().create(t);
      const b = await store().create(t);
      await store().append(t, a.id, [message("user", "x")], { operationId: "shared" });
      const r = await store().append(t, b.id, [message("user", "x")], { operationId: "shared" });
      assert.equal(r.replayed, false);
    });

    it("forgets operation ids with their session: a re-created id and a fork start afresh", async () => {
      const t = tenant();
      const s = await store().create(t, { id: "conv_recreated_ops" });
      await store().append(t, s.id, [message("user", "x")], { operationId: "op" });
      const fork = await store().fork(t, s.id);
      const inFork = await store().append(t, fork.id, [message("user", "x")], { operationId: "op" });
      assert.deepEqual([inFork.replayed, inFork.firstSeq], [false, 2]);
      await store().delete(t, s.id);
      await store().create(t, { id: s.id });
      const again = await store().append(t, s.id, [message("user", "y")], { operationId: "op" });
      assert.deepEqual([again.replayed, again.firstSeq, again.version], [false, 1, 2]);
    });

    it("rejects a moved version with conflict and writes nothing", async () => {
      const t = tenant();
      const s = await store().create(t);
      await store().append(t, s.id, [message("user", "a")], { expectedVersion: 1 });
      await rejectsWithCode(
        store().append(t, s.id, [message("user", "b")], { expectedVersion: 1 }),
        "conflict",
      );
      const ok = await store().append(t, s.id, [message("user", "c")], { expectedVersion: 2 });
      assert.equal(ok.version, 3);
      assert.equal((await store().get(t, s.id)).itemCount, 2);
    });

    it("reads items by seq range, limit and order", async () => {
      const t = tenant();
      const s = await store().create(t);
      await store().append(
        t,
        s.id,
        Array.from({ length: 10 }, (_, i) => message("user", `m${i + 1}`)),
      );
      const seqs = async (q: Parameters<ReturnType<typeof store>["readItems"]>[2]) =>
        (await store().readItems(t, s.id, q)).map((i) => i.seq);
      assert.deepEqual(await seqs({ afterSeq: 3, limit: 3 }), [4, 5, 6]);
      assert.deepEqual(await seqs({ beforeSeq: 4 }), [1, 2, 3]);
      assert.deepEqual(await seqs({ order: "desc", limit: 2 }), [10, 9]);
      assert.deepEqual(await seqs({ order: "desc", beforeSeq: 9, limit: 2 }), [8, 7]);
      assert.deepEqual(await seqs({ afterSeq: 10 }), []);
    });

    it("forks: the child shares history up to atSeq and writes stay apart", async () => {
      const t = tenant();
      const parent = await store().create(t, { owner: "bob", state: { k: 1 } });
      await store().append(t, parent.id, [
        message("user", "1"),
        message("assistant", "2"),
        message("user", "3"),
      ]);
      const child = await store().fork(t, parent.id, { atSeq: 2 });
      assert.notEqual(child.id, parent.id);
      assert.deepEqual(child.forkParent, { sessionId: parent.id, atSeq: 2 });
      assert.equal(child.itemCount, 2);
      assert.equal(child.owner, "bob");
      assert.deepEqual(child.state, { k: 1 });
      await store().append(t, child.id, [message("user", "child only")]);
      await store().append(t, parent.id, [message("user", "parent only")]);
      const childItems = await store().readItems(t, child.id);
      const parentItems = await store().readItems(t, parent.id);
      assert.deepEqual(
        childItems.map((i) => i.seq),
        [1, 2, 3],
      );
      assert.ok(JSON.stringify(childItems[2]?.content).includes("child only"));
      assert.deepEqual(
        parentItems.map((i) => i.seq),
        [1, 2, 3, 4],
      );
      assert.ok(!JSON.stringify(parentItems).includes("child only"));
      assert.ok(!JSON.stringify(childItems).includes("parent only"));
      assert.equal(
        (await store().get(t, child.id)).tokenCount,
        childItems.reduce((n, i) => n + i.tokens, 0),
      );
      await rejectsWithCode(store().fork(t, parent.id, { atSeq: 99 }), "invalid_argument");
      const whole = await store().fork(t, parent.id);
      assert.equal(whole.itemCount, 4);
      // A caller-chosen fork id that already exists is a conflict, never an overwrite.
      await rejectsWithCode(store().fork(t, parent.id, { id: child.id, atSeq: 1 }), "conflict");
      assert.equal((await store().get(t, child.id)).itemCount, 3);
      const named = await store().fork(t, parent.id, { id: "conv_forknamed0001", atSeq: 1 });
      assert.equal(named.id, "conv_forknamed0001");
    });

    it("checks its arguments before its session: a bad append is invalid_argument even where the session is missing", async () => {
      const t = tenant();
      const other = tenant();
      const deleted = await store().create(t);
      await store().delete(t, deleted.id);
      const foreign = await store().create(other);
      const ok = message("user", "ok");
      const bad: Array<[string, ItemInput[], AppendOptions]> = [
        ["an item without a type", [ok, { content: { role: "user" } }], {}],
        ["an empty batch", [], {}],
        ["a bad operation id", [ok], { operationId: "" }],
        ["a bad expected version", [ok], { expectedVersion: -1 }],
        ["a bad claim", [ok], { claim: { holder: "", ttlMs: 1_000 } }],
      ];
      const targets = [
        ["missing", "conv_missing000000"],
        ["deleted", deleted.id],
        ["another tenant's", foreign.id],
      ] as const;
      for (const [which, id] of targets) {
        for (const [what, items, options] of bad) {
          await assert.rejects(store().append(t, id, items, options), (error: { code?: string }) => {
            assert.equal(error.code, "invalid_argument", `${what} to a ${which} session: ${String(error)}`);
            return true;
          });
        }
        await rejectsWithCode(store().append(t, id, [ok]), "not_found");
      }
      assert.equal((await store().get(other, foreign.id)).itemCount, 0);
    });
  });
}
