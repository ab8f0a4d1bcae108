/** Upstream metrics against the real router, adapters and the mock upstream HTTP server. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { layerOf } from "../engine/providers/test-support.ts";
import { createMockUpstream } from "../mock-upstream/index.ts";
import { createMetrics } from "./create-metrics.ts";
import { observeRouter } from "./upstream-metrics.ts";

test("attempts, retries, failovers and breaker state per upstream", async () => {
  const primary = await createMockUpstream({ script: ["error:503", "error:500"], retryAfterMs: 0 });
  const secondary = await createMockUpstream();
  const layer = layerOf({
    retry: { maxRetries: 1, baseDelayMs: 1 },
    providers: [
      {
        name: "primary",
        type: "openai-chat",
        baseUrl: `${primary.url}/v1`,
        breaker: { failureThreshold: 2 },
      },
      { name: "secondary", type: "anthropic", baseUrl: secondary.url },
    ],
    routes: {
      smart: [
        { provider: "primary", model: "big" },
        { provider: "secondary", model: "small" },
      ],
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const stop = observeRouter(layer.router, metrics);
  try {
    const before = await metrics.registry.metrics();
    assert.ok(before.includes('holdfast_upstream_breaker_state{upstream="primary",state="closed"} 1'));
    const input = [{ type: "message" as const, role: "user" as const, content: "hello" }];
    const { target } = await layer.router.complete({ model: "smart", input });
    assert.equal(target.provider, "secondary");
    const text = await metrics.registry.metrics();
    assert.ok(
      text.includes('holdfast_upstream_attempts_total{upstream="primary",outcome="upstream_error"} 1'),
      text,
    );
    assert.ok(text.includes('holdfast_upstream_attempts_total{upstream="secondary",outcome="ok"} 1'));
    assert.ok(text.includes('holdfast_upstream_retries_total{upstream="primary"} 1'));
    assert.ok(text.includes('holdfast_upstream_failovers_total{upstream="primary"} 1'));
    assert.ok(!text.includes('holdfast_upstream_failovers_total{upstream="secondary"}'));
    assert.ok(text.includes('holdfast_upstream_breaker_state{upstream="primary",state="open"} 1'));
    assert.ok(text.includes('holdfast_upstream_breaker_state{upstream="primary",state="closed"} 0'));
    assert.ok(text.includes('holdfast_upstream_breaker_transitions_total{upstream="primary",to="open"} 1'));
    stop();
    await layer.router.complete({ model: "smart", input });
    const after = await metrics.registry.metrics();
    assert.ok(
      after.includes('holdfast_upstream_attempts_total{upstream="secondary",outcome="ok"} 1'),
      "unsubscribed",
    );
  } finally {
    stop();
    await layer.close();
    await primary.close();
    await secondary.close();
  }
});
