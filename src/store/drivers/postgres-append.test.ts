/**
 * Combined appends: with a 2-connection pool and many concurrent callers, appends travel in
 * batches, yet each keeps its own outcome — one caller's conflict or duplicate item id never
 * fails or reorders another's, and every session's seq stays dense.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSessionStore } from "../core.ts";
import type { HoldfastError } from "../errors.ts";
import type { SessionStore } from "../types.ts";
import { createPostgresDriver, type PostgresDriver } from "./postgres.ts";
import { APPEND_LANES } from "./postgres-append.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "./postgres-test-support.ts";

const schema = uniqueSchema("hf_batch");
let driver: PostgresDriver;
let store: SessionStore;

before(async () => {
  driver = await createPostgresDriver({ connectionString: schemaUrl(schema), poolSize: 2 });
  store = createSessionStore(driver);
});
after(async () => {
  await store.close();
  await dropSchema(schema);
});

const msg = (text: string, id?: string) => ({
  ...(id ? { id } : {}),
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("postgres driver: combined appends", () => {
  it("batches concurrent appends and keeps every outcome separate", async () => {
    const t = "tenant-batch";
    const sessions = await Promise.all(Array.from({ length: 8 }, () => store.create(t)));
    for (const s of sessions)
      await store.append(t, s.id, [msg("seed", "msg_taken")], { operationId: "seed" });
    const before = driver.appendStats.batches;
    const calls = Array.from({ length: 200 }, (_, n) => {
      const s = sessions[n % sessions.length]!;
      if (n % 10 === 3)
        return { kind: "dup", p: store.append(t, s.id, [msg(`d${n}`), msg("x", "msg_taken")]) };
      if (n % 10 === 5)
        return { kind: "stale", p: store.append(t, s.id, [msg(`v${n}`)], { expectedVersion: 1 }) };
      if (n % 10 === 7)
        return {
          kind: "replay",
          p: store.append(t, s.id, [msg("seed", "msg_taken")], { operationId: "seed" }),
        };
      return {
        kind: "ok",
        p: store.append(t, s.id, [msg(`q${n}`), msg(`a${n}`)], { operationId: `op-${n}` }),
      };
    });
    const settled = await Promise.allSettled(calls.map((c) => c.p));
    assert.ok(driver.appendStats.batches > before, "expected some appends to travel combined");
    settled.forEach((r, n) => {
      const kind = calls[n]!.kind;
      if (kind === "ok") assert.equal(r.status, "fulfilled", String((r as PromiseRejectedResult).reason));
      if (kind === "replay") assert.equal(r.status === "fulfilled" && r.value.replayed, true);
      if (kind === "dup" || kind === "stale") {
        assert.equal(r.status, "rejected");
        assert.equal(((r as PromiseRejectedResult).reason as HoldfastError).code, "conflict");
      }
    });
    for (const [k, s] of sessions.entries()) {
      const items = await store.readItems(t, s.id, { limit: 1000 });
      const oks = calls.filter((c, n) => c.kind === "ok" && n % sessions.length === k).length;
      assert.deepEqual(
        items.map((i) => i.seq),
        Array.from({ length: 1 + 2 * oks }, (_, i) => i + 1),
      );
      const head = await store.get(t, s.id);
      assert.equal(head.itemCount, items.length);
      assert.equal(head.version, 2 + oks);
      assert.equal(
        head.tokenCount,
        items.reduce((n, i) => n + i.tokens, 0),
      );
      // Running totals written inside batches are right: the window is the exact fitting suffix.
      const budget = Math.floor(head.tokenCount / 2);
      let fit = 0;
      let sum = 0;
      for (const item of [...items].reverse()) {
        if (sum + item.tokens > budget) break;
        sum += item.tokens;
        fit += 1;
      }
      const w = await store.readWindow(t, s.id, { maxTokens: budget });
      assert.deepEqual(
        w.items.map((i) => i.seq),
        items.slice(items.length - fit).map((i) => i.seq),
      );
    }
    // Each fulfilled append's items sit at the seqs it reported, question before answer.
    for (const [n, r] of settled.entries()) {
      if (calls[n]!.kind !== "ok" || r.status !== "fulfilled") continue;
      const s = sessions[n % sessions.length]!;
      const [q, a] = await store.readItems(t, s.id, { afterSeq: r.value.firstSeq - 1, limit: 2 });
      assert.ok(JSON.stringify(q?.content).includes(`"q${n}"`));
      assert.ok(JSON.stringify(a?.content).includes(`"a${n}"`));
    }
  });

  it("sends a tick's appends as batches shared by the lanes, none of them alone", async () => {
    const t = "tenant-lanes";
    const sessions = await Promise.all(Array.from({ length: 32 }, () => store.create(t)));
    const before = driver.appendStats;
    // 32 callers in one tick (the pool has 2 connections, so 2 lanes): two batches of 16 and
    // no lone first append committed on its own.
    const results = await Promise.all(sessions.map((s, n) => store.append(t, s.id, [msg(`m${n}`)])));
    const after = driver.appendStats;
    assert.deepEqual(
      { batches: after.batches - before.batches, combined: after.combined - before.combined },
      { batches: APPEND_LANES, combined: 32 },
    );
    assert.deepEqual(
      results.map((r) => [r.firstSeq, r.version]),
      sessions.map(() => [1, 2]),
    );
  });

  it("keeps one session's appends of a tick in one batch, in submission order", async () => {
    const t = "tenant-order";
    const sessions = await Promise.all(Array.from({ length: 10 }, () => store.create(t)));
    // 3 appends per session, interleaved: the lanes split the tick, never a session.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, n) => store.append(t, sessions[n % 10]!.id, [msg(`m${n}`)])),
    );
    for (let k = 0; k < 10; k++) {
      assert.deepEqual(
        [results[k]!.firstSeq, results[k + 10]!.firstSeq, results[k + 20]!.firstSeq],
        [1, 2, 3],
      );
    }
  });

  it("holds a session's later appends until its batch in flight committed", async () => {
    const t = "tenant-hold";
    // Ids sort the sessions in each batch (lock order): session conv_zz-session comes last in its batch.
    const light = await Promise.all(
      Array.from({ length: 21 }, (_, n) => store.create(t, { id: `conv_a-${String(n).padStart(8, "0")}` })),
    );
    const heavy = await Promise.all(
      Array.from({ length: 20 }, (_, n) => store.create(t, { id: `conv_b-${String(n).padStart(8, "0")}` })),
    );
    const s = await store.create(t, { id: "conv_zz-session" });
    const many = Array.from({ length: 40 }, (_, n) => msg(`h${n}`));
    // One tick: lane 1 takes the 21 light appends, lane 2 the 20 heavy ones and 'first' last.
    const tick1 = [
      ...light.map((x) => store.append(t, x.id, [msg("l")])),
      ...heavy.map((x) => store.append(t, x.id, many)),
    ];
    const first = store.append(t, s.id, [msg("first")]);
    // A later tick, same caller, not awaited: it used to take lane 1 as soon as the light batch
    // committed and lock conv_zz-session before the heavy batch got to it.
    const second = await new Promise<Promise<unknown>>((resolve) =>
      setImmediate(() => resolve(store.append(t, s.id, [msg("second")]))),
    );
    await Promise.all(tick1);
    assert.deepEqual([(await first).firstSeq, ((await second) as { firstSeq: number }).firstSeq], [1, 2]);
  });

  it("redoes a failed batch's appends to one session one by one, in order", async () => {
    const t = "tenant-redo";
    const session = await store.create(t);
    // A role with a NUL byte is refused by Postgres itself (no driver check): the whole batch
    // rolls back and every append is redone alone. Redone side by side over the two pooled
    // connections, the good appends raced for the row lock and committed in any order.
    const now = Date.now();
    const bad = driver.append(
      t,
      session.id,
      [
        {
          id: "msg_bad",
          type: "message",
          role: "user\u0000",
          status: null,
          callId: null,
          content: {},
          contentJson: "{}",
          tokens: 1,
          bytes: 2,
          turnId: null,
          createdAt: now,
        },
      ],
      { payloadHash: "", now },
    );
    const good = Array.from({ length: 12 }, (_, n) => store.append(t, session.id, [msg(`m${n}`)]));
    const before = driver.appendStats.batches;
    await assert.rejects(bad);
    assert.deepEqual(
      (await Promise.all(good)).map((r) => r.firstSeq),
      Array.from({ length: 12 }, (_, n) => n + 1),
    );
    assert.equal(driver.appendStats.batches, before + 1, "expected the appends to travel as one batch");
  });

  it("sends appends queued in the same tick as close() before closing", async () => {
    const own = uniqueSchema("hf_batch_close");
    const d = await createPostgresDriver({ connectionString: schemaUrl(own), poolSize: 2 });
    const s = createSessionStore(d);
    try {
      const session = await s.create("t");
      const pending = [s.append("t", session.id, [msg("one")]), s.append("t", session.id, [msg("two")])];
      await s.close();
      assert.deepEqual(
        (await Promise.all(pending)).map((r) => r.firstSeq),
        [1, 2],
      );
    } finally {
      await dropSchema(own);
    }
  });
  it("close() commits an append held behind its session's batch in flight, in order", async () => {
    const own = uniqueSchema("hf_batch_close_held");
    const d = await createPostgresDriver({ connectionString: schemaUrl(own), poolSize: 2 });
    const s = createSessionStore(d);
    try {
      const session = await s.create("t");
      const first = s.append("t", session.id, [msg("one")]);
      // A tick later 'one' is in flight; 'two' waits for it, and close() waits for 'two'.
      await new Promise((resolve) => setImmediate(resolve));
      const second = s.append("t", session.id, [msg("two")]);
      await s.close();
      assert.deepEqual([(await first).firstSeq, (await second).firstSeq], [1, 2]);
      await assert.rejects(s.append("t", session.id, [msg("late")]), { code: "unavailable" });
    } finally {
      await dropSchema(own);
    }
  });
});
