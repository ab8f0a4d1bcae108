import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
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
});
