import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import { DelegatingStore } from "../store/decorators/delegating-store.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import type { AppendOptions, AppendResult, ItemInput, Session, SessionStore } from "../store/types.ts";
import { parseLifecyclePolicy } from "./policy.ts";
import { QuotaExceededError, withQuotas } from "./quotas.ts";

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("withQuotas", () => {
  it("rejects an append over the item limit with quota_exceeded, and lets the ones under it through", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 3 } });
    const store = withQuotas(createSessionStore(createMemoryDriver()), { policy });
    const s = await store.create("t", { items: [msg("a"), msg("b")] });
    await store.append("t", s.id, [msg("c")]);
    await assert.rejects(store.append("t", s.id, [msg("d")]), (error: unknown) => {
      assert.ok(error instanceof QuotaExceededError);
      assert.equal(error.code, "quota_exceeded");
      assert.equal(error.limit, "items");
      assert.match(error.message, /4 items, over its limit of 3/);
      return true;
    });
    assert.equal((await store.get("t", s.id)).itemCount, 3, "nothing was written");
    await assert.rejects(store.create("t", { items: [msg("1"), msg("2"), msg("3"), msg("4")] }), {
      code: "quota_exceeded",
    });
    await store.close();
  });

  it("applies byte and token limits and per-session metadata overrides", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_tokens_per_session: 1000 } });
    const store = withQuotas(createSessionStore(createMemoryDriver()), { policy });
    const tight = await store.create("t", { metadata: { "lifecycle.max_bytes": "200" } });
    await assert.rejects(store.append("t", tight.id, [msg("x".repeat(300))]), { code: "quota_exceeded" });
    const loose = await store.create("t");
    await store.append("t", loose.id, [{ ...msg("y"), tokens: 900 }]);
    await assert.rejects(
      store.append("t", loose.id, [{ ...msg("z"), tokens: 200 }]),
      (e: QuotaExceededError) => {
        return e.limit === "tokens";
      },
    );
    await store.close();
  });

  it("calls the compaction hook once before rejecting and accepts when it made room", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 2 } });
    const inner = createSessionStore(createMemoryDriver());
    const calls: string[] = [];
    const store = withQuotas(inner, {
      policy,
      compact: async (tenant, session, over) => {
        calls.push(`${session.id}:${over}`);
        // Room is made by raising the session's own limit (a real hook would shrink it).
        await inner.update(tenant, session.id, { metadata: { "lifecycle.max_items": "10" } });
      },
    });
    const s = await store.create("t", { items: [msg("a"), msg("b")] });
    const result = await store.append("t", s.id, [msg("c")]);
    assert.equal(result.lastSeq, 3);
    assert.deepEqual(calls, [`${s.id}:items`]);
    await store.close();
  });

  it("writes an append of an admitted turn unchecked (no hook), and checks the next one against it", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 2 } });
    let admitting: string | null = null;
    const hooked: string[] = [];
    const store = withQuotas(createSessionStore(createMemoryDriver()), {
      policy,
      compact: async (_tenant, session) => {
        hooked.push(session.id);
      },
      admitted: (tenant, id) => tenant === "t" && id === admitting,
    });
    const s = await store.create("t", { items: [msg("a"), msg("b")] });
    const other = await store.create("t", { items: [msg("a"), msg("b")] });
    admitting = s.id;
    assert.equal((await store.append("t", s.id, [msg("summary")])).lastSeq, 3);
    // Only the session vouched for: another one is still checked (and its hook called).
    await assert.rejects(store.append("t", other.id, [msg("c")]), { code: "quota_exceeded" });
    admitting = null;
    await assert.rejects(store.append("t", s.id, [msg("c")]), /would hold 4 items, over its limit of 2/);
    assert.deepEqual(hooked, [other.id, s.id]);
    await store.close();
  });

  it("gives the hook the store under the check and the limits, and adds what it answers to the refusal", async () => {
    const policy = parseLifecyclePolicy({
      defaults: { max_items_per_session: 2, max_bytes_per_session: "1mb" },
    });
    const inner = createSessionStore(createMemoryDriver());
    let hooked = 0;
    const store = withQuotas(inner, {
      policy,
      compact: async (tenant, session, _over, delta, { store: under, limits }) => {
        hooked++;
        assert.deepEqual(limits, { items: 2, bytes: 1_000_000, tokens: null });
        assert.equal(delta.items, 1);
        // Through the decorated store this append would be checked against the same limit and call
        // the hook again; under it, it is written.
        await under.append(tenant, session.id, [msg("summary")]);
        return "Compaction freed nothing.";
      },
    });
    const s = await store.create("t", { items: [msg("a"), msg("b")] });
    await assert.rejects(store.append("t", s.id, [msg("c")]), (error: unknown) => {
      assert.ok(error instanceof QuotaExceededError);
      assert.match(
        error.message,
        /4 items, over its limit of 2 \(.*\)\. Compaction freed nothing\. Start a new/,
      );
      return true;
    });
    assert.equal(hooked, 1, "called once, however far over the append still is");
    await store.close();
  });

  it("checks a session it already knows without reading it, and reads it when it moved meanwhile", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 5 } });
    const inner = new Counting(createSessionStore(createMemoryDriver()));
    const store = withQuotas(inner, { policy });
    // Created past the decorator: unknown to it.
    const s = await inner.create("t", { items: [msg("a")] });
    await store.append("t", s.id, [msg("b")]);
    assert.equal(inner.gets, 1, "the first append reads the session");
    await store.append("t", s.id, [msg("c")]);
    await store.append("t", s.id, [msg("d")]);
    assert.equal(inner.gets, 1, "the appends after it follow its version, unread");
    // Another writer (here: the inner store directly) appends: the guard fails, the session is read again.
    await inner.append("t", s.id, [msg("e")]);
    await assert.rejects(store.append("t", s.id, [msg("f")]), { code: "quota_exceeded" });
    assert.equal((await inner.get("t", s.id)).itemCount, 5, "nothing was written");
    await store.close();
  });

  it("enforces a limit another writer set on a known session (its metadata changed the version)", async () => {
    const policy = parseLifecyclePolicy({});
    const inner = createSessionStore(createMemoryDriver());
    const store = withQuotas(inner, { policy });
    const s = await store.create("t");
    await store.append("t", s.id, [msg("a")]);
    await store.append("t", s.id, [msg("b")]);
    await inner.update("t", s.id, { metadata: { "lifecycle.max_items": "2" } });
    await assert.rejects(store.append("t", s.id, [msg("c")]), { code: "quota_exceeded", limit: "items" });
    assert.equal((await inner.get("t", s.id)).itemCount, 2);
    await store.close();
  });

  it("check and append are atomic: a write landing between them is caught, not let past the limit", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 3 } });
    const inner = new Counting(createSessionStore(createMemoryDriver()));
    const store = withQuotas(inner, { policy });
    const s = await store.create("t", { items: [msg("a")] });
    // Runs after the check and before the append: the session reaches its limit in between.
    inner.beforeAppend = async () => {
      inner.beforeAppend = null;
      await inner.append("t", s.id, [msg("x"), msg("y")]);
    };
    await assert.rejects(store.append("t", s.id, [msg("b")]), { code: "quota_exceeded" });
    assert.equal((await inner.get("t", s.id)).itemCount, 3);
    await store.close();
  });

  it("a caller without expectedVersion never sees the guard's conflicts, even when it keeps losing races", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 100 } });
    const inner = new Counting(createSessionStore(createMemoryDriver()));
    const store = withQuotas(inner, { policy });
    const s = await store.create("t");
    let raced = 0;
    inner.beforeAppend = async () => {
      raced += 1;
      await inner.update("t", s.id, { labels: [`l${raced}`] });
    };
    const result = await store.append("t", s.id, [msg("a")]);
    assert.equal(result.lastSeq, 1);
    assert.ok(raced >= 2, "the guarded attempts lost their races");
    inner.beforeAppend = null;
    // With the caller's own expectedVersion, a moved session is the caller's conflict as always.
    await assert.rejects(store.append("t", s.id, [msg("b")], { expectedVersion: 1 }), { code: "conflict" });
    await store.close();
  });

  it("an append checked against a version sends that version, even when a concurrent append advanced the record since", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 4 } });
    const inner = new Counting(createSessionStore(createMemoryDriver()));
    const store = withQuotas(inner, { policy });
    const s = await store.create("t", { items: [msg("a"), msg("b")] });
    // B starts in the microtask queued just before A's append returns: B is checked against the
    // remembered 2 items (2 + 2 fits the limit of 4), then A's record advances to 3 items, then B
    // sends its append. B must be guarded by the version it was checked against: it conflicts,
    // re-reads 3 items and is refused.
    let b: Promise<AppendResult> | undefined;
    inner.afterAppend = () => {
      inner.afterAppend = null;
      queueMicrotask(() => {
        b = store.append("t", s.id, [msg("d"), msg("e")]);
      });
    };
    await store.append("t", s.id, [msg("c")]);
    assert.ok(b);
    await assert.rejects(b, { code: "quota_exceeded", limit: "items" });
    assert.equal((await inner.get("t", s.id)).itemCount, 3, "never over the limit");
    await store.close();
  });

  it("a stale known session never rejects: room made by another writer is seen before rejecting", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 2 } });
    const inner = createSessionStore(createMemoryDriver());
    const store = withQuotas(inner, { policy });
    const s = await store.create("t");
    const first = await store.append("t", s.id, [msg("a"), msg("b")]);
    await inner.deleteItem("t", s.id, first.items[0]!.id);
    const result = await store.append("t", s.id, [msg("c")]);
    assert.equal(result.lastSeq, 3);
    await store.close();
  });

  it("counts exactly what the store counted, across appends and replays", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_bytes_per_session: "100kb" } });
    const inner = createSessionStore(createMemoryDriver());
    const store = withQuotas(inner, { policy });
    const s = await store.create("t");
    await store.append("t", s.id, [msg("a".repeat(40_000))], { operationId: "op1" });
    await store.append("t", s.id, [msg("a".repeat(40_000))], { operationId: "op1" });
    await store.append("t", s.id, [msg("b".repeat(40_000))]);
    assert.equal((await inner.get("t", s.id)).itemCount, 2);
    await assert.rejects(store.append("t", s.id, [msg("c".repeat(40_000))]), { limit: "bytes" });
    await store.close();
  });
});

describe("withQuotas remembers sessions passing through", () => {
  it("a session created, updated or read through it needs no read on its first append", async () => {
    const policy = parseLifecyclePolicy({ defaults: { max_items_per_session: 3 } });
    const inner = new Counting(createSessionStore(createMemoryDriver()));
    const store = withQuotas(inner, { policy });
    const created = await store.create("t", { items: [msg("a")] });
    await store.append("t", created.id, [msg("b")]);
    const updated = await inner.create("t");
    await store.update("t", updated.id, { metadata: { "lifecycle.max_items": "1" } });
    await store.append("t", updated.id, [msg("c")]);
    await assert.rejects(store.append("t", updated.id, [msg("d")]), { code: "quota_exceeded" });
    const gets = inner.gets;
    const read = await inner.create("t");
    await store.get("t", read.id);
    await store.append("t", read.id, [msg("e")]);
    assert.equal(inner.gets, gets + 1, "only the caller's own get");
    await store.close();
  });
});

/** Counts `get`s and can run a write of "another writer" right before each append. */
class Counting extends DelegatingStore {
  gets = 0;
  beforeAppend: (() => Promise<void>) | null = null;
  /** Runs synchronously once the inner append succeeded, just before this append returns. */
  afterAppend: (() => void) | null = null;

  constructor(inner: SessionStore) {
    super(inner);
  }

  override get(tenant: string, id: string): Promise<Session> {
    this.gets += 1;
    return this.inner.get(tenant, id);
  }

  override async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    if (this.beforeAppend) await this.beforeAppend();
    const result = await this.inner.append(tenant, id, items, options);
    this.afterAppend?.();
    return result;
  }
}
