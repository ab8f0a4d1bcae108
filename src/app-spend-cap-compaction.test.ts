/**
 * The daily spend cap counts what a turn's compaction spent on summarizer calls, not only the
 * turn's own call: a tenant whose turns cost little but whose conversations are compacted by a
 * paid model would otherwise never reach its cap. The fake upstream reports 1,000 prompt and 200
 * completion tokens per summarizer call ($0.00027 at gpt-4o-mini's price), 5 and 3 per turn.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { HoldfastApp } from "./app.ts";
import {
  type CompactingApp,
  type CompactingUpstream,
  longConversationItems,
  startCompactingApp,
} from "./server/compaction-test-support.ts";

describe("the daily spend cap and compaction", () => {
  let started: CompactingApp;
  let compacting: CompactingUpstream;
  let holdfast: HoldfastApp;

  before(async () => {
    started = await startCompactingApp({
      // Far above a turn's own cost ($0.00000255), below one summarizer call's.
      rate_limits: { spend_per_day_usd: 0.0001 },
    });
    ({ compacting, holdfast } = started);
  });
  after(() => started.close());

  test("a turn whose compaction crossed the cap stops the tenant's next model call", async () => {
    const created = await holdfast.app.inject({
      method: "POST",
      url: "/v1/conversations",
      payload: { items: longConversationItems() },
    });
    assert.equal(created.statusCode, 200, created.body);
    const conversation = (created.json() as { id: string }).id;
    const turn = () =>
      holdfast.app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: "small", input: "Hi", conversation },
      });
    const first = await turn();
    assert.equal(first.statusCode, 200, first.body);
    assert.ok(compacting.summarizerCalls() > 0, "the turn compacted its conversation first");
    const second = await turn();
    assert.equal(second.statusCode, 429, second.body);
    const error = (second.json() as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "rate_limit_exceeded");
    assert.match(error.message, /daily spend cap/);
  });
});
