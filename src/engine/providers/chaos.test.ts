/**
 * Upstream chaos: a primary with 20% errors, 5% hangs and 5% cut bodies, a clean fallback. Every
 * non-streamed request succeeds; every stream ends cleanly (done, or a terminal error event when
 * the cut came after events were delivered). Afterwards: no sockets, no timers left behind.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createMockUpstream } from "../../mock-upstream/index.ts";
import { collect, layerOf, outputText } from "./test-support.ts";
import type { InputItem } from "./types.ts";

const RESOURCE_KINDS = new Set(["TCPSocketWrap", "TCPServerWrap", "Timeout", "TLSWrap"]);

function openResources(): number {
  return process.getActiveResourcesInfo().filter((kind) => RESOURCE_KINDS.has(kind)).length;
}

async function settle(baseline: number): Promise<number> {
  for (let i = 0; i < 100 && openResources() > baseline; i++) await delay(20);
  return openResources();
}

test("chaos: 200 requests through a flaky primary all succeed; no socket or timer leaks", async () => {
  const baseline = openResources();
  const flaky = await createMockUpstream({
    errorRate: 0.2,
    hangRate: 0.05,
    cutStreamRate: 0.05,
    seed: 7,
    retryAfterMs: 0,
  });
  const clean = await createMockUpstream();
  const layer = layerOf({
    retry: { maxRetries: 1, baseDelayMs: 5 },
    breaker: { failureThreshold: 5, openMs: 200 },
    providers: [
      {
        name: "flaky-chat",
        type: "openai-chat",
        baseUrl: `${flaky.url}/v1`,
        timeouts: { headersMs: 250, idleMs: 250 },
      },
      {
        name: "flaky-claude",
        type: "anthropic",
        baseUrl: flaky.url,
        timeouts: { headersMs: 250, idleMs: 250 },
      },
      { name: "clean", type: "openai-responses", baseUrl: `${clean.url}/v1` },
    ],
    routes: {
      chat: [
        { provider: "flaky-chat", model: "m" },
        { provider: "clean", model: "m" },
      ],
      claude: [
        { provider: "flaky-claude", model: "m" },
        { provider: "clean", model: "m" },
      ],
    },
  });
  let fallbacks = 0;
  layer.router.on("attempt", (record) => {
    if (record.error) fallbacks++;
  });
  try {
    const N = 200;
    let ok = 0;
    for (let batch = 0; batch < N; batch += 25) {
      await Promise.all(
        Array.from({ length: 25 }, async (_, i) => {
          const n = batch + i;
          const input: InputItem[] = [{ type: "message", role: "user", content: `request number ${n}` }];
          const { result } = await layer.router.complete({ model: n % 2 ? "chat" : "claude", input });
          assert.equal(outputText(result.output), `You said: "request number ${n}" (3 words).`);
          ok++;
        }),
      );
    }
    assert.equal(ok, N);

    let done = 0;
    let terminal = 0;
    for (let batch = 0; batch < 100; batch += 25) {
      await Promise.all(
        Array.from({ length: 25 }, async (_, i) => {
          const n = batch + i;
          const input: InputItem[] = [{ type: "message", role: "user", content: `stream number ${n}` }];
          const stream = await layer.router.openStream({ model: n % 2 ? "chat" : "claude", input });
          const run = await collect(stream.events);
          if (run.result) {
            assert.equal(run.text, `You said: "stream number ${n}" (3 words).`);
            done++;
          } else {
            assert.ok(run.error, "a stream ends with done or a terminal error event");
            assert.equal(run.error.partial.status, "incomplete");
            terminal++;
          }
        }),
      );
    }
    assert.equal(done + terminal, 100);
    assert.ok(fallbacks > 0, "the chaos actually happened");
    assert.ok(flaky.stats().errors > 0 && flaky.stats().hangs > 0 && flaky.stats().cuts > 0);
    // Hung and cut requests were torn down by the client: the upstream holds no request open.
    for (let i = 0; i < 100 && flaky.stats().active > 0; i++) await delay(20);
    assert.equal(flaky.stats().active, 0);
    for (const stats of Object.values(layer.poolStats())) {
      assert.equal(stats.running, 0);
      assert.equal(stats.pending, 0);
    }
  } finally {
    await layer.close();
    await flaky.close();
    await clean.close();
  }
  assert.equal(await settle(baseline), baseline, `leaked: ${process.getActiveResourcesInfo().join(", ")}`);
});
