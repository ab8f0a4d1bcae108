/**
 * Issues 5/7: a turn whose input fits its conversation's `max_items_per_session` is admitted; if
 * its window then nears the model's budget, automatic compaction appends a summary mid-turn. That
 * append is part of the admitted turn and is never refused by the quota (as the turn's final
 * append is not): refusing it answered 413 with the input stored unanswered and a summarizer call
 * paid. Over HTTP through the official `openai` SDK against `holdfast serve`'s app.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { type CompactingApp, longConversationItems, startCompactingApp } from "./compaction-test-support.ts";

interface Usage {
  turns: {
    response_id: string;
    compaction?: { calls: number; input_tokens: number; output_tokens: number };
  }[];
  total: { compaction: { calls: number; input_tokens: number; output_tokens: number } };
}

describe("an admitted turn's automatic compaction under a session quota (holdfast serve)", () => {
  let started: CompactingApp;
  let client: OpenAI;

  before(async () => {
    started = await startCompactingApp({ lifecycle: { defaults: { max_items_per_session: 21 } } });
    const address = await started.holdfast.app.listen({ port: 0, host: "127.0.0.1" });
    client = new OpenAI({ baseURL: `${address}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(() => started.close());

  /** Summarizer calls counted in the metrics for the turns' model (gpt-4o-mini serves `small`). */
  const meteredCalls = async (): Promise<number> => {
    const body = (await started.holdfast.app.inject({ method: "GET", url: "/metrics" })).body;
    const lines = body.split("\n").filter((l) => l.startsWith("holdfast_compaction_calls_total{"));
    return lines.reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
  };

  it("completes the turn, its compaction's cost on its record once", async () => {
    // 20 items: the input "Hi" makes 21, within the limit, so the turn is admitted.
    const conv = await client.conversations.create({
      items: longConversationItems() as OpenAI.Conversations.ConversationCreateParams["items"],
    });
    const metered = await meteredCalls();

    const reply = await client.responses.create({ model: "small", input: "Hi", conversation: conv.id });
    assert.equal(reply.status, "completed");
    assert.equal(reply.output_text, "Hello.");
    const summarized = started.compacting.summarizerCalls();
    assert.ok(summarized >= 1, "the turn compacted its conversation");

    // The input is answered: the last two visible items are "Hi" and the answer.
    const items = (await client.conversations.items.list(conv.id, { order: "desc", limit: 2 })).data;
    assert.deepEqual(
      items.map((i) => (i as { role?: string }).role),
      ["assistant", "user"],
      JSON.stringify(items),
    );
    const stored = await started.holdfast.store.readItems("default", conv.id, { limit: 100 });
    assert.equal(stored.filter((i) => i.type === "summary").length, 1, stored.map((i) => i.type).join());

    // The usage route lists the turn with its compaction, counted once (on the record, in the totals).
    const usage = (await client.get(`/conversations/${conv.id}/usage`)) as Usage;
    assert.equal(usage.turns.length, 1);
    assert.equal(usage.turns[0]?.response_id, reply.id);
    assert.equal(usage.turns[0]?.compaction?.calls, summarized);
    assert.equal(usage.turns[0]?.compaction?.input_tokens, 1000 * summarized);
    assert.equal(usage.total.compaction.calls, summarized);
    assert.equal(usage.total.compaction.output_tokens, 200 * summarized);
    assert.equal(await meteredCalls(), metered + summarized, "metered once");

    // The session ended over its limit (the summary and the answer); the next turn's input is
    // checked, has the conversation compacted and freed, and is answered.
    const next = await client.responses.create({ model: "small", input: "And?", conversation: conv.id });
    assert.equal(next.status, "completed");
    const session = await started.holdfast.store.get("default", conv.id);
    assert.ok(session.itemCount <= 21, `back within its limit: ${session.itemCount}`);
  });
});
