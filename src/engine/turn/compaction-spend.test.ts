/**
 * A turn's summarizer calls are added up in integer nano-dollars: a float sum of calls costing
 * 0.1 and 0.2 USD put `cost_usd: 0.30000000000000004` on the response record (and so in the
 * conversation's usage ledger and in what `onCompaction` reported).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CompactionCall, type CompactionRecord, CompactionTally } from "./compaction-spend.ts";

const call = (costUsd: number | null): CompactionCall => ({
  usage: { input_tokens: 100, output_tokens: 10, cached_tokens: 0 },
  costUsd,
  served: null,
  model: "summary-model",
});

describe("CompactionTally", () => {
  it("adds the calls' costs without float noise; unpriced calls add nothing", () => {
    const reported: CompactionRecord[] = [];
    const tally = new CompactionTally((record) => reported.push(record));
    tally.add(call(null));
    assert.equal(tally.record?.cost_usd, null, "no call had a price yet");
    tally.add(call(0.1));
    tally.add(call(null));
    tally.add(call(0.2));
    assert.equal(tally.record?.cost_usd, 0.3);
    assert.equal(tally.record?.calls, 4);
    tally.report(true);
    assert.equal(reported[0]?.cost_usd, 0.3);
  });
});
