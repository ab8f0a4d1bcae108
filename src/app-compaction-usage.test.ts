/**
 * The model calls the gateway's compaction makes are accounted: the summarizer calls a turn's
 * automatic compaction made are on that turn's record as a `compaction` entry (the Responses
 * `usage` stays the turn's own call), listed by the usage route with totals, priced at the model
 * that served them, and counted in the Prometheus totals — once: an idempotent replay adds nothing.
 * The fake upstream reports 1,000 prompt and 200 completion tokens per summarizer call, 5 and 3
 * per turn; route `small` is served by gpt-4o-mini ($0.15 / $0.60 per 1M tokens).
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

const usd = (input: number, output: number): number => (input * 0.15 + output * 0.6) / 1_000_000;

interface UsageRoute {
  turns: {
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
    compaction?: {
      calls: number;
      model: string;
      input_tokens: number;
      output_tokens: number;
      cost_usd: number;
    };
  }[];
  total: {
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
    compaction: { calls: number; input_tokens: number; output_tokens: number; cost_usd: number };
  };
}

describe("compaction's model calls are accounted", () => {
  let started: CompactingApp;
  let compacting: CompactingUpstream;
  let holdfast: HoldfastApp;

  before(async () => {
    started = await startCompactingApp();
    ({ compacting, holdfast } = started);
  });
  after(() => started.close());

  async function inject(method: "GET" | "POST", url: string, payload?: object, headers = {}) {
    const res = await holdfast.app.inject({ method, url, ...(payload ? { payload } : {}), headers });
    assert.equal(res.statusCode, 200, res.body);
    return res;
  }

  test("usage route, metrics and pricing show it; a replay adds nothing", async () => {
    const conv = (await inject("POST", "/v1/conversations", { items: longConversationItems() })).json() as {
      id: string;
    };
    const request = { model: "small", input: "Hi", conversation: conv.id };
    const first = (await inject("POST", "/v1/responses", request, { "idempotency-key": "k1" })).json() as {
      usage: Record<string, unknown>;
    };
    assert.ok(compacting.summarizerCalls() > 0, "the turn compacted its conversation first");
    const calls = compacting.summarizerCalls();
    // The Responses usage stays OpenAI's shape and the turn's own call.
    assert.deepEqual(first.usage, {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 8,
    });

    const read = async () => (await inject("GET", `/v1/conversations/${conv.id}/usage`)).json() as UsageRoute;
    const usage = await read();
    assert.equal(usage.turns.length, 1);
    const turn = usage.turns[0]!;
    assert.equal(turn.input_tokens, 5);
    assert.ok(Math.abs(turn.cost_usd - usd(5, 3)) < 1e-12);
    assert.equal(turn.compaction?.calls, calls);
    assert.equal(turn.compaction?.model, "gpt-4o-mini");
    assert.equal(turn.compaction?.input_tokens, 1000 * calls);
    assert.equal(turn.compaction?.output_tokens, 200 * calls);
    const compactionUsd = calls * usd(1000, 200);
    assert.ok(Math.abs(turn.compaction.cost_usd - compactionUsd) < 1e-12, `${turn.compaction.cost_usd}`);
    assert.equal(usage.total.compaction.calls, calls);
    assert.equal(usage.total.input_tokens, 5 + 1000 * calls);
    assert.equal(usage.total.output_tokens, 3 + 200 * calls);
    assert.ok(Math.abs(usage.total.cost_usd - (usd(5, 3) + compactionUsd)) < 1e-12);

    // The spend counters only (process and HTTP metrics move between scrapes).
    const metrics = async () =>
      (await inject("GET", "/metrics")).body
        .split("\n")
        .filter((line) => /^holdfast_(turns|tokens|cost_usd|compaction_\w+)_total\{/.test(line))
        .join("\n")
        .concat("\n");
    const before = await metrics();
    const labels = 'tenant="default",model="gpt-4o-mini"';
    assert.match(before, new RegExp(`holdfast_compaction_calls_total\\{${labels}\\} ${calls}\\n`));
    assert.match(
      before,
      new RegExp(`holdfast_tokens_total\\{${labels},direction="input"\\} ${5 + 1000 * calls}\\n`),
    );
    assert.match(
      before,
      new RegExp(`holdfast_compaction_tokens_total\\{${labels},direction="output"\\} ${200 * calls}\\n`),
    );
    const cost = Number(
      /holdfast_cost_usd_total\{tenant="default",model="gpt-4o-mini"\} (\S+)\n/.exec(before)?.[1],
    );
    assert.ok(Math.abs(cost - (usd(5, 3) + compactionUsd)) < 1e-12, `${cost}`);
    assert.match(before, new RegExp(`holdfast_turns_total\\{${labels}\\} 1\\n`));

    // The same request again with its key: the first answer, no model call, nothing counted.
    await inject("POST", "/v1/responses", request, { "idempotency-key": "k1" });
    assert.equal(compacting.summarizerCalls(), calls);
    assert.deepEqual(await read(), usage);
    assert.equal(await metrics(), before);
  });
});
