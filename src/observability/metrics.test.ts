import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import Fastify from "fastify";
import { createStore } from "../store/create-store.ts";
import { createMetrics } from "./create-metrics.ts";
import { recordTurn, registerMetrics } from "./metrics.ts";
import { withStoreMetrics } from "./store-metrics.ts";
import { withProviderMetrics } from "./upstream-metrics.ts";

async function scrape(app: ReturnType<typeof Fastify>): Promise<string> {
  const res = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers["content-type"]), /text\/plain/);
  return res.body;
}

function seriesOf(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe("registerMetrics", () => {
  const metrics = createMetrics();
  const app = Fastify();
  // Routes registered before the hooks, as createServer does before the lead registers metrics.
  app.get("/v1/conversations/:id", async () => ({ ok: true }));
  app.post("/v1/things", async (_req, reply) => reply.code(429).send({ error: "slow down" }));
  registerMetrics(app, { metrics });
  after(() => app.close());

  test("HTTP durations are labelled by route pattern and status class, never the raw URL", async () => {
    await app.inject({ method: "GET", url: "/v1/conversations/conv_aaaa" });
    await app.inject({ method: "GET", url: "/v1/conversations/conv_bbbb" });
    await app.inject({ method: "POST", url: "/v1/things" });
    const text = await scrape(app);
    const counts = seriesOf(text, "holdfast_http_request_duration_seconds_count");
    assert.ok(
      counts.includes(
        'holdfast_http_request_duration_seconds_count{method="GET",route="/v1/conversations/:id",status_class="2xx"} 2',
      ),
      counts.join("\n"),
    );
    assert.ok(!text.includes("conv_aaaa") && !text.includes("conv_bbbb"));
    assert.ok(text.includes('holdfast_http_rate_limited_total{route="/v1/things"} 1'));
  });

  test("unknown URLs share one label value", async () => {
    const before = seriesOf(await scrape(app), "holdfast_http_request_duration_seconds_count").length;
    await app.inject({ method: "GET", url: "/no/such/path/1" });
    const middle = seriesOf(await scrape(app), "holdfast_http_request_duration_seconds_count");
    await app.inject({ method: "GET", url: "/another/random/path/2?x=1" });
    await app.inject({ method: "GET", url: "/third" });
    const text = await scrape(app);
    const afterSeries = seriesOf(text, "holdfast_http_request_duration_seconds_count");
    assert.equal(middle.length, before + 1);
    assert.equal(afterSeries.length, middle.length, "new unknown URLs must not add series");
    assert.ok(text.includes('route="unmatched",status_class="4xx"} 3'));
    assert.ok(!text.includes("/no/such/path") && !text.includes("/third"));
  });

  test("default metrics include event-loop lag and heap on the private registry", async () => {
    const text = await scrape(app);
    assert.ok(text.includes("holdfast_nodejs_eventloop_lag_seconds"));
    assert.ok(text.includes("holdfast_nodejs_heap_size_used_bytes"));
  });

  test("a bearer token protects /metrics when configured", async () => {
    const guarded = Fastify();
    registerMetrics(guarded, { metrics: createMetrics({ defaultMetrics: false }), bearerToken: "t0ken" });
    const missing = await guarded.inject({ url: "/metrics" });
    assert.equal(missing.statusCode, 401);
    // The API's documented code and shape, and the scheme to use.
    assert.equal(missing.json().error.code, "unauthenticated");
    assert.equal(missing.json().error.type, "invalid_request_error");
    assert.match(missing.json().error.message, /Authorization: Bearer/);
    assert.equal(missing.headers["www-authenticate"], "Bearer");
    for (const authorization of ["Bearer t0ke", "Bearer t0ken ", "Bearer t0kenX", "bearer t0ken", "t0ken"]) {
      const wrong = await guarded.inject({ url: "/metrics", headers: { authorization } });
      assert.equal(wrong.statusCode, 401, authorization);
    }
    const ok = await guarded.inject({ url: "/metrics", headers: { authorization: "Bearer t0ken" } });
    assert.equal(ok.statusCode, 200);
    await guarded.close();
  });
});

describe("recordTurn", () => {
  test("tokens and cost by tenant and model, with bounded label values", async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxTenants: 2 });
    recordTurn(metrics, {
      tenant: "acme",
      model: "gpt-x",
      usage: { input_tokens: 100, output_tokens: 20, cached_tokens: 40 },
      costUsd: 0.25,
    });
    recordTurn(metrics, { tenant: "beta", model: "gpt-x", usage: { input_tokens: 1, output_tokens: 1 } });
    recordTurn(metrics, { tenant: "gamma", model: "gpt-x", usage: { input_tokens: 5, output_tokens: 1 } });
    const text = await metrics.registry.metrics();
    assert.ok(text.includes('holdfast_tokens_total{tenant="acme",model="gpt-x",direction="input"} 100'));
    assert.ok(text.includes('holdfast_tokens_total{tenant="acme",model="gpt-x",direction="output"} 20'));
    assert.ok(text.includes('holdfast_tokens_total{tenant="acme",model="gpt-x",direction="cached"} 40'));
    assert.ok(text.includes('holdfast_cost_usd_total{tenant="acme",model="gpt-x"} 0.25'));
    assert.ok(text.includes('holdfast_tokens_total{tenant="other",model="gpt-x",direction="input"} 5'));
    assert.ok(!text.includes("gamma"));
  });
});

describe("withStoreMetrics", () => {
  test("times operations by driver and operation; counts conflicts and replays", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const store = withStoreMetrics(await createStore("memory:"), metrics);
    const session = await store.create("t1", {
      items: [{ content: { type: "message", role: "user", content: "hi" } }],
    });
    const items = [{ content: { type: "message", role: "user", content: "again" } }];
    await store.append("t1", session.id, items, { operationId: "op-1" });
    const replay = await store.append("t1", session.id, items, { operationId: "op-1" });
    assert.equal(replay.replayed, true);
    await assert.rejects(store.update("t1", session.id, { labels: ["x"] }, { expectedVersion: 1 }), {
      code: "conflict",
    });
    await assert.rejects(store.get("t1", "conv_00000000000000000000000000000000"), { code: "not_found" });
    await store.readWindow("t1", session.id, { maxTokens: 1000 });
    const text = await metrics.registry.metrics();
    assert.ok(
      text.includes(
        'holdfast_store_operation_duration_seconds_count{driver="memory",operation="append",outcome="ok"} 2',
      ),
    );
    assert.ok(text.includes('operation="read_window",outcome="ok"} 1'));
    assert.ok(text.includes('operation="get",outcome="not_found"} 1'));
    assert.ok(text.includes('holdfast_store_conflicts_total{driver="memory",operation="update"} 1'));
    assert.ok(text.includes('holdfast_store_idempotent_replays_total{driver="memory"} 1'));
    assert.ok(!text.includes(session.id), "no session id in any label");
    await store.close();
  });
});

describe("withStoreMetrics turnsFromRecords", () => {
  test("a committed response record counts its turn once; a replay does not", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const store = withStoreMetrics(await createStore("memory:"), metrics, { turnsFromRecords: true });
    const session = await store.create("acme");
    const record = {
      type: "response_record",
      model: "fast",
      served_by: { provider: "openai", model: "gpt-4o-mini" },
      usage: { input_tokens: 30, output_tokens: 7, cached_tokens: 0 },
      cost_usd: 0.002,
    };
    const items = [{ id: "resp_1", content: record, tokens: 0 }];
    await store.append("acme", session.id, items, { operationId: "turn-1" });
    await store.append("acme", session.id, items, { operationId: "turn-1" });
    const text = await metrics.registry.metrics();
    assert.ok(text.includes('holdfast_turns_total{tenant="acme",model="gpt-4o-mini"} 1'), text);
    assert.ok(text.includes('holdfast_tokens_total{tenant="acme",model="gpt-4o-mini",direction="input"} 30'));
    assert.ok(text.includes('holdfast_cost_usd_total{tenant="acme",model="gpt-4o-mini"} 0.002'));
    await store.close();
  });
});

describe("label values taken from requests and errors stay bounded", () => {
  test("an overlong model or tenant name is recorded as other, not kept as a label", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const huge = `gpt-${"x".repeat(100_000)}`;
    recordTurn(metrics, {
      tenant: `t-${"y".repeat(10_000)}`,
      model: huge,
      usage: { input_tokens: 1, output_tokens: 1 },
    });
    const text = await metrics.registry.metrics();
    assert.ok(text.includes('holdfast_turns_total{tenant="other",model="other"} 1'), text.slice(0, 500));
    assert.ok(text.length < 20_000, `exposition grew to ${text.length} characters`);
  });

  test("thousands of distinct error codes from a store or an upstream add a bounded number of series", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const inner = await createStore("memory:");
    let n = 0;
    inner.get = async () => {
      throw Object.assign(new Error("refused"), { code: `code_${n++}` });
    };
    const store = withStoreMetrics(inner, metrics);
    const provider = withProviderMetrics(
      {
        name: "main",
        type: "mock",
        close: async () => {},
        complete: async () => {
          throw Object.assign(new Error("upstream says no"), { code: `upstream code ${n++}` });
        },
        stream: () => {
          throw new Error("unused");
        },
      } as unknown as Parameters<typeof withProviderMetrics>[0],
      metrics,
    );
    for (let i = 0; i < 2000; i++) {
      await assert.rejects(store.get("t1", "conv_00000000000000000000000000000000"));
      await assert.rejects(provider.complete({ model: "m" } as never));
    }
    const text = await metrics.registry.metrics();
    const storeSeries = seriesOf(text, "holdfast_store_operation_duration_seconds_count");
    const upstreamSeries = seriesOf(text, "holdfast_upstream_request_duration_seconds_count");
    assert.ok(storeSeries.length <= 65, `${storeSeries.length} store series`);
    assert.ok(upstreamSeries.length <= 65, `${upstreamSeries.length} upstream series`);
    assert.ok(storeSeries.some((line) => line.includes('outcome="other"')));
    assert.ok(!text.includes("upstream code"), "a code that is not an identifier is recorded as error");
    await inner.close();
  });
});
