/**
 * A conversation already over the model's input budget, with truncation disabled (the default):
 * with automatic compaction on, the turn compacts first and then answers; it used to be refused
 * with 400 `context_length_exceeded` by the history load before compaction was considered. With
 * compaction off it is still that 400.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SUMMARY_TYPE } from "../engine/context/summary.ts";
import { createGateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import {
  type CompactingUpstream,
  longConversationItems,
  smallModelProviders,
  startCompactingUpstream,
} from "./compaction-test-support.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

async function openGateway(upstream: CompactingUpstream, compaction: false | undefined) {
  const store = await createStore("memory:");
  const layer = createProviderLayer(
    parseProvidersConfig(smallModelProviders(upstream.upstream.baseUrl), {}),
    {
      env: {},
    },
  );
  const gateway = createGateway({ store, providers: layer, compaction });
  const t = await openTestApp({ store, gateway: { engine: gateway.engine, models: gateway.models } });
  return { t, close: () => Promise.all([t.close(), gateway.close()]) };
}

/** A turn (`truncation` left at its default, disabled) on a conversation over `small`'s budget. */
async function turnOverBudget(t: TestApp, stream: boolean) {
  const created = await t.call("POST", "/v1/conversations", { items: longConversationItems() });
  assert.equal(created.status, 200);
  const conversation = (created.json as { id: string }).id;
  const res = await t.app.inject({
    method: "POST",
    url: "/v1/responses",
    payload: { model: "small", input: "Hi", conversation, stream },
  });
  const items = await t.store.readItems("default", conversation, { limit: 1000 });
  return { res, summaries: items.filter((item) => item.type === SUMMARY_TYPE).length };
}

describe("a conversation over the input budget, truncation disabled", () => {
  let upstream: CompactingUpstream;
  before(async () => {
    upstream = await startCompactingUpstream();
  });
  after(() => upstream.upstream.close());

  test("automatic compaction on: compacts, then answers 200", async () => {
    const { t, close } = await openGateway(upstream, undefined);
    try {
      for (const stream of [false, true]) {
        const calls = upstream.summarizerCalls();
        const { res, summaries } = await turnOverBudget(t, stream);
        assert.equal(res.statusCode, 200, res.body);
        if (stream) assert.match(res.body, /event: response\.completed/);
        else assert.equal(res.json().status, "completed");
        assert.ok(upstream.summarizerCalls() > calls, "the summarizer was called");
        assert.equal(summaries, 1, "a summary item was appended");
      }
    } finally {
      await close();
    }
  });

  test("automatic compaction off: 400 context_length_exceeded, nothing summarized", async () => {
    const { t, close } = await openGateway(upstream, false);
    try {
      const calls = upstream.summarizerCalls();
      const { res, summaries } = await turnOverBudget(t, false);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, "context_length_exceeded");
      assert.match(
        res.json().error.message,
        /set truncation to "auto" to fit it, or compact the conversation/,
      );
      assert.deepEqual([upstream.summarizerCalls(), summaries], [calls, 0]);
    } finally {
      await close();
    }
  });
});
