/**
 * Turn claims (types.ts AppendOptions.claim): the store half of the gateway's busy policy
 * across instances. A turn's first append takes the claim, its last one gives it up; another
 * holder is refused with `conversation_busy` until then, or until the claim expires.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

const TTL = 10_000;

export function testClaimCases({ store, clock, tenant }: ConformanceContext): void {
  describe("turn claims", () => {
    async function session() {
      const t = tenant();
      const s = await store().create(t);
      return { t, id: s.id };
    }
    const claim = (holder: string, release = false) => ({ claim: { holder, ttlMs: TTL, release } });

    it("a claimed append refuses another holder, writing nothing; the holder and plain appends go on", async () => {
      const { t, id } = await session();
      const first = await store().append(t, id, [message("user", "a")], claim("turn-a"));
      assert.equal(first.replayed, false);
      const before = await store().get(t, id);
      await rejectsWithCode(
        store().append(t, id, [message("user", "b")], claim("turn-b")),
        "conversation_busy",
      );
      const after = await store().get(t, id);
      assert.equal(after.version, before.version);
      assert.equal(after.itemCount, 1);
      // The holder keeps appending (compaction inside its turn does), and appends without a claim
      // are not turns: claims do not block them.
      await store().append(t, id, [message("user", "a2")], claim("turn-a"));
      await store().append(t, id, [message("user", "plain")]);
      assert.equal((await store().get(t, id)).itemCount, 3);
    });

    it("the claim does not change the session: version and timestamps move only with items", async () => {
      const { t, id } = await session();
      const r = await store().append(t, id, [message("user", "a")], claim("turn-a"));
      const s1 = await store().get(t, id);
      assert.equal(s1.version, r.version);
      clock.now += 5;
      assert.equal(await store().renewClaim(t, id, "turn-a", TTL), true);
      await store().releaseClaim(t, id, "turn-a");
      const s2 = await store().get(t, id);
      assert.deepEqual(s2, s1);
    });

    it("an append with release gives the claim up once it commits", async () => {
      const { t, id } = await session();
      await store().append(t, id, [message("user", "q1")], claim("turn-a"));
      await store().append(t, id, [message("assistant", "a1")], claim("turn-a", true));
      await store().append(t, id, [message("user", "q2")], claim("turn-b"));
      await rejectsWithCode(
        store().append(t, id, [message("user", "x")], claim("turn-a")),
        "conversation_busy",
      );
      const items = await store().readItems(t, id);
      assert.deepEqual(
        items.map((i) => (i.content.content as { text: string }[])[0]!.text),
        ["q1", "a1", "q2"],
      );
    });

    it("a release append from a holder whose claim was taken over is refused (fencing)", async () => {
      const { t, id } = await session();
      await store().append(t, id, [message("user", "q1")], claim("turn-a"));
      clock.now += TTL;
      await store().append(t, id, [message("user", "q2")], claim("turn-b"));
      await rejectsWithCode(
        store().append(t, id, [message("assistant", "late")], claim("turn-a", true)),
        "conversation_busy",
      );
      assert.equal((await store().get(t, id)).itemCount, 2);
    });

    it("an unrenewed claim expires with the injected clock", async () => {
      const { t, id } = await session();
      await store().append(t, id, [message("user", "a")], claim("turn-a"));
      clock.now += TTL - 1;
      await rejectsWithCode(
        store().append(t, id, [message("user", "b")], claim("turn-b")),
        "conversation_busy",
      );
      clock.now += 1;
      const taken = await store().append(t, id, [message("user", "b")], claim("turn-b"));
      assert.equal(taken.firstSeq, 2);
      // The first holder lost it: renewing says so and changes nothing.
      assert.equal(await store().renewClaim(t, id, "turn-a", TTL), false);
      await rejectsWithCode(
        store().append(t, id, [message("user", "c")], claim("turn-a")),
        "conversation_busy",
      );
    });

    it("renewClaim extends only the holder's claim", async () => {
      const { t, id } = await session();
      await store().append(t, id, [message("user", "a")], claim("turn-a"));
      clock.now += TTL - 1_000;
      assert.equal(await store().renewClaim(t, id, "turn-a", TTL), true);
      assert.equal(await store().renewClaim(t, id, "turn-b", TTL), false);
      clock.now += TTL - 1;
      await rejectsWithCode(
        store().append(t, id, [message("user", "b")], claim("turn-b")),
        "conversation_busy",
      );
      // A renewal a little late still works while nobody took the claim over.
      clock.now += 2;
      assert.equal(await store().renewClaim(t, id, "turn-a", TTL), true);
      await rejectsWithCode(
        store().append(t, id, [message("user", "b")], claim("turn-b")),
        "conversation_busy",
      );
    });

    it("releaseClaim frees the conversation; only the holder can release it", async () => {
      const { t, id } = await session();
      await store().append(t, id, [message("user", "a")], claim("turn-a"));
      await store().releaseClaim(t, id, "turn-b");
      await rejectsWithCode(
        store().append(t, id, [message("user", "b")], claim("turn-b")),
        "conversation_busy",
      );
      await store().releaseClaim(t, id, "turn-a");
      assert.equal(await store().renewClaim(t, id, "turn-a", TTL), false);
      await store().append(t, id, [message("user", "b")], claim("turn-b"));
      // Releasing twice, or on a missing session, is no error.
      await store().releaseClaim(t, id, "turn-a");
      await store().releaseClaim(t, "conv_00000000000000000000000000000000", "turn-a");
      assert.equal(
        await store().renewClaim(t, "conv_00000000000000000000000000000000", "turn-a", TTL),
        false,
      );
    });

    it("an idempotent replay of a claimed append respects and retakes the claim", async () => {
      const { t, id } = await session();
      const input = [message("user", "q")];
      const first = await store().append(t, id, input, { operationId: "op-in", ...claim("try-1") });
      await store().releaseClaim(t, id, "try-1");
      await store().append(t, id, [message("user", "other")], claim("turn-b"));
      // While another turn holds it, even a replay waits its turn.
      await rejectsWithCode(
        store().append(t, id, input, { operationId: "op-in", ...claim("try-2") }),
        "conversation_busy",
      );
      await store().releaseClaim(t, id, "turn-b");
      const replay = await store().append(t, id, input, { operationId: "op-in", ...claim("try-2") });
      assert.equal(replay.replayed, true);
      assert.equal(replay.firstSeq, first.firstSeq);
      assert.deepEqual(
        replay.items.map((i) => i.id),
        first.items.map((i) => i.id),
      );
      await rejectsWithCode(
        store().append(t, id, [message("user", "x")], claim("turn-c")),
        "conversation_busy",
      );
      // The replay of a release append releases too.
      const out = [message("assistant", "a")];
      await store().append(t, id, out, { operationId: "op-out", ...claim("try-2", true) });
      await store().append(t, id, out, { operationId: "op-out", ...claim("try-2", true) });
      await store().append(t, id, [message("user", "x")], claim("turn-c"));
    });

    it("a refused append reports not_found before busy, and a failed append takes no claim", async () => {
      const { t, id } = await session();
      await rejectsWithCode(
        store().append(t, "conv_00000000000000000000000000000000", [message("user", "a")], claim("turn-a")),
        "not_found",
      );
      await rejectsWithCode(
        store().append(t, id, [message("user", "a")], { expectedVersion: 7, ...claim("turn-a") }),
        "conflict",
      );
      await store().append(t, id, [message("user", "b")], claim("turn-b"));
    });

    it("a fork does not inherit the parent's claim; deleting the session drops it", async () => {
      const { t, id } = await session();
      await store().append(t, id, [message("user", "a")], claim("turn-a"));
      const child = await store().fork(t, id);
      await store().append(t, child.id, [message("user", "b")], claim("turn-b"));
      await store().delete(t, id);
      const again = await store().create(t, { id });
      await store().append(t, again.id, [message("user", "c")], claim("turn-c"));
    });

    it("claimed appends racing at once: one holder wins per session; other sessions and plain appends go on", async () => {
      const t = tenant();
      const a = (await store().create(t)).id;
      const b = (await store().create(t)).id;
      const results = await Promise.allSettled([
        ...Array.from({ length: 6 }, (_, i) =>
          store().append(t, a, [message("user", `a${i}`)], claim(`h${i}`)),
        ),
        store().append(t, b, [message("user", "b")], claim("hb")),
        store().append(t, b, [message("user", "plain")]),
      ]);
      const racers = results.slice(0, 6);
      const won = racers.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1);
      for (const r of racers) {
        if (r.status === "rejected") assert.equal((r.reason as { code?: string }).code, "conversation_busy");
      }
      assert.deepEqual(
        results.slice(6).map((r) => r.status),
        ["fulfilled", "fulfilled"],
      );
      assert.equal((await store().get(t, a)).itemCount, 1);
      assert.equal((await store().get(t, b)).itemCount, 2);
      // The winner's release and the next claimer's take, sent together: the take either sees
      // the claim still held (busy) or already released (wins), never both holders at once.
      const winner = racers.findIndex((r) => r.status === "fulfilled");
      const [release, take] = await Promise.allSettled([
        store().append(t, a, [message("assistant", "done")], claim(`h${winner}`, true)),
        store().append(t, a, [message("user", "next")], claim("h-next")),
      ]);
      assert.equal(release.status, "fulfilled");
      if (take.status === "rejected") {
        assert.equal((take.reason as { code?: string }).code, "conversation_busy");
        await store().append(t, a, [message("user", "next")], claim("h-next"));
      }
      await rejectsWithCode(
        store().append(t, a, [message("user", "x")], claim(`h${winner}`)),
        "conversation_busy",
      );
    });

    it("rejects malformed claims", async () => {
      const { t, id } = await session();
      for (const bad of [
        { holder: "", ttlMs: TTL },
        { holder: "has space", ttlMs: TTL },
        { holder: "x", ttlMs: 0 },
        { holder: "x", ttlMs: 1.5 },
        { holder: "x", ttlMs: 86_400_001 },
      ]) {
        await rejectsWithCode(
          store().append(t, id, [message("user", "a")], { claim: bad }),
          "invalid_argument",
        );
      }
      await rejectsWithCode(store().renewClaim(t, id, "x", -1), "invalid_argument");
      await rejectsWithCode(store().releaseClaim(t, id, ""), "invalid_argument");
      assert.equal((await store().get(t, id)).itemCount, 0);
    });
  });
}
