/** The observability plugins on the real server: route-pattern labels, store metrics, request ids. */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createGateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createServer } from "../server/create-server.ts";
import { createStore } from "../store/create-store.ts";
import { createMetrics } from "./create-metrics.ts";
import { loggingOptions, registerRequestLogging } from "./logging.ts";
import { registerMetrics } from "./metrics.ts";
import { withStoreMetrics } from "./store-metrics.ts";
import { registerTracing } from "./tracing.ts";

test("createServer + metrics, tracing and request logging", async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const raw = await createStore("memory:");
  const store = withStoreMetrics(raw, metrics);
  const app = await createServer({ store, logger: loggingOptions({ stream }).logger });
  registerRequestLogging(app);
  registerTracing(app);
  registerMetrics(app, { metrics });
  try {
    const created = await app.inject({
      method: "POST",
      url: "/v1/conversations",
      payload: { items: [{ type: "message", role: "user", content: "a private question" }] },
      headers: { "x-request-id": "trace-me-1" },
    });
    assert.equal(created.statusCode, 200, created.body);
    // createServer does not take genReqId yet, so the id is Fastify's own; it is still echoed.
    assert.ok(created.headers["x-request-id"]);
    const id = created.json().id as string;
    for (let i = 0; i < 3; i++) await app.inject({ url: `/v1/conversations/${id}` });
    await app.inject({ url: "/v1/conversations/conv_00000000000000000000000000000000" });
    const text = (await app.inject({ url: "/metrics" })).body;
    assert.ok(
      text.includes(
        'holdfast_http_request_duration_seconds_count{method="GET",route="/v1/conversations/:id",status_class="2xx"} 3',
      ),
      text,
    );
    assert.ok(text.includes('route="/v1/conversations/:id",status_class="4xx"} 1'));
    assert.ok(
      text.includes('holdfast_store_operation_duration_seconds_count{driver="memory",operation="create"'),
    );
    assert.ok(!text.includes(id), "no session id in labels");
    const log = lines.join("");
    assert.ok(log.includes('"route":"/v1/conversations"'));
    assert.ok(!log.includes("a private question"));
  } finally {
    await app.close();
    await store.close();
  }
});

test("a streamed turn echoes x-request-id like every other answer", async () => {
  const store = await createStore("memory:");
  const gateway = createGateway({
    store,
    providers: createProviderLayer(parseProvidersConfig(undefined, {})),
  });
  const app = await createServer({
    store,
    gateway: { engine: gateway.engine, models: gateway.models },
    logging: loggingOptions({ stream: new Writable({ write: (_c, _e, cb) => cb() }) }),
  });
  registerRequestLogging(app);
  try {
    const res = await app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: { model: "mock", input: "hello", stream: true },
      headers: { "x-request-id": "stream-me-1" },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
    assert.ok(res.body.includes("response.completed"));
    assert.equal(res.headers["x-request-id"], "stream-me-1");
  } finally {
    await app.close();
    await gateway.close();
    await store.close();
  }
});
