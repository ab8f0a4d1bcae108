/**
 * Issue 7, "compact, then reject", over HTTP through the official `openai` SDK against
 * `holdfast serve`'s app and the built-in mock model: a turn on a conversation at its
 * `max_items_per_session` has the conversation compacted (the turn's model summarizes, the
 * summarized items are freed) and is answered; the summarizer calls are on the turn's record, so
 * the usage route lists them. Where compaction cannot make enough room, 413 `quota_exceeded`
 * says so and what to do, once, after one try.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type OpenAI from "openai";
import type { HoldfastApp } from "../app.ts";
import { refusal, startQuotaApp } from "./quota-test-support.ts";

interface Usage {
  turns: { response_id: string; compaction?: { calls: number; model: string; input_tokens: number } }[];
  total: { compaction: { calls: number; input_tokens: number; output_tokens: number; cost_usd: number } };
}

const note = (n: number) => ({
  type: "message" as const,
  role: "user" as const,
  content: `note ${n}: ${"the quick brown fox jumps over the lazy dog ".repeat(40)}`,
});

describe("a turn over a session quota compacts first (holdfast serve)", () => {
  let holdfast: HoldfastApp;
  let client: OpenAI;

  before(async () => {
    ({ holdfast, client } = await startQuotaApp({ max_items_per_session: 12 }));
  });
  after(() => holdfast.close());

  it("answers a turn on a conversation at its item limit after compacting it, its cost on the turn", async () => {
    const conv = await client.conversations.create({ items: Array.from({ length: 12 }, (_, n) => note(n)) });
    assert.equal((await holdfast.store.get("default", conv.id)).itemCount, 12, "at the limit");

    const reply = await client.responses.create({ model: "mock", conversation: conv.id, input: "and now?" });
    assert.equal(reply.status, "completed");
    assert.match(reply.output_text, /and now\?/);

    const session = await holdfast.store.get("default", conv.id);
    assert.ok(session.itemCount < 12, `items went down: ${session.itemCount}`);
    // Summaries are hidden from the OpenAI item listing (as response records are): read the store.
    const stored = await holdfast.store.readItems("default", conv.id, { limit: 100 });
    const summaries = stored.filter((i) => i.type === "summary");
    assert.equal(summaries.length, 1, stored.map((i) => i.type).join());
    // The newest notes are kept verbatim, the older ones are only in the summary now.
    const items = (await client.conversations.items.list(conv.id, { order: "asc", limit: 100 })).data;
    const texts = JSON.stringify(items);
    assert.match(texts, /note 11:/);
    assert.doesNotMatch(texts, /note 0:/);
    assert.equal(
      (items.at(-1) as { role?: string }).role,
      "assistant",
      "the answer is stored after the input",
    );

    const usage = (await client.get(`/conversations/${conv.id}/usage`)) as Usage;
    assert.equal(usage.turns.length, 1);
    assert.equal(usage.turns[0]?.response_id, reply.id);
    assert.ok((usage.turns[0]?.compaction?.calls ?? 0) >= 1, JSON.stringify(usage.turns[0]));
    assert.equal(usage.turns[0]?.compaction?.model, "mock");
    assert.ok(usage.total.compaction.input_tokens > 0);
    assert.equal(typeof usage.total.compaction.cost_usd, "number");

    // Room was made for more than one turn: the next one needs no compaction.
    const next = await client.responses.create({ model: "mock", conversation: conv.id, input: "more" });
    assert.equal(next.status, "completed");
    const again = (await client.get(`/conversations/${conv.id}/usage`)) as Usage;
    assert.equal(again.turns[1]?.compaction, undefined);
  });

  /** Summarizer calls counted in the metrics (`holdfast_compaction_calls_total`, model mock). */
  const compactionCalls = async (): Promise<number> => {
    const body = (await holdfast.app.inject({ method: "GET", url: "/metrics" })).body;
    const line = /holdfast_compaction_calls_total\{tenant="default",model="mock"\} (\d+)/.exec(body);
    return Number(line?.[1] ?? 0);
  };

  it("refuses with 413 when compaction cannot free enough, after one try, writing nothing", async () => {
    // Tiny items: a summary of them is no smaller, so nothing is summarized or freed.
    const conv = await client.conversations.create({
      items: Array.from({ length: 12 }, (_, n) => ({
        type: "message" as const,
        role: "user" as const,
        content: `${n}`,
      })),
    });
    const version = (await holdfast.store.get("default", conv.id)).version;
    const calls = await compactionCalls();
    const refused = await refusal(
      client.responses.create({ model: "mock", conversation: conv.id, input: "x" }),
    );
    assert.equal(refused.status, 413);
    assert.equal(refused.code, "quota_exceeded");
    assert.match(refused.message, /would hold 13 items, over its limit of 12 \(max_items_per_session/);
    assert.match(refused.message, /Compaction found nothing more to summarize .* not enough for this input/);
    assert.match(refused.message, /Start a new session, fork a shorter one, or raise the limit/);
    const session = await holdfast.store.get("default", conv.id);
    assert.equal(session.version, version, "nothing written");
    assert.equal(session.itemCount, 12);
    // The summarizer call was made and paid: counted though no turn record holds it.
    assert.equal(await compactionCalls(), calls + 1);
  });

  it("does not compact for an input that alone leaves no room", async () => {
    const conv = await client.conversations.create({ items: [note(0), note(1)] });
    const input = Array.from({ length: 12 }, (_, n) => note(n));
    const refused = await refusal(client.responses.create({ model: "mock", conversation: conv.id, input }));
    assert.equal(refused.status, 413);
    assert.match(refused.message, /This input alone \(12 items\) leaves no room under the limit/);
    assert.deepEqual(
      (await client.conversations.items.list(conv.id)).data.map((i) => i.type),
      ["message", "message"],
      "no summary: nothing was compacted",
    );
  });
});
