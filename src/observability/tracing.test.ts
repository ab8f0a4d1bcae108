import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type Attributes,
  type Context,
  context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import Fastify from "fastify";
import { createMockProvider } from "../engine/providers/mock.ts";
import { createStore } from "../store/create-store.ts";
import { createMetrics } from "./create-metrics.ts";
import { withStoreMetrics } from "./store-metrics.ts";
import { registerTracing } from "./tracing.ts";
import { withProviderMetrics } from "./upstream-metrics.ts";

/** A finished span as the recorder keeps it. */
interface Recorded {
  name: string;
  kind: number | undefined;
  attributes: Attributes;
  status: SpanStatus | undefined;
  parent: string | undefined;
  spanId: string;
}

/** A minimal TracerProvider (no SDK installed): records spans in memory, honours parent context. */
class RecordingProvider implements TracerProvider {
  finished: Recorded[] = [];
  #next = 1;
  getTracer(): Tracer {
    const provider = this;
    const startSpan = (name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span => {
      const parent = trace.getSpan(ctx)?.spanContext().spanId;
      const spanId = String(provider.#next++).padStart(16, "0");
      const attributes: Attributes = { ...options.attributes };
      let status: SpanStatus | undefined;
      const spanContext: SpanContext = { traceId: "1".repeat(32), spanId, traceFlags: 1 };
      const span: Span = {
        spanContext: () => spanContext,
        setAttribute(key, value) {
          attributes[key] = value;
          return span;
        },
        setAttributes(values) {
          Object.assign(attributes, values);
          return span;
        },
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus(value) {
          status = value;
          return span;
        },
        updateName: () => span,
        end() {
          provider.finished.push({ name, kind: options.kind, attributes, status, parent, spanId });
        },
        isRecording: () => true,
        recordException: () => {},
      };
      return span;
    };
    return {
      startSpan,
      startActiveSpan(name: string, ...rest: unknown[]) {
        const fn = rest.pop() as (span: Span) => unknown;
        const options = (rest[0] ?? {}) as SpanOptions;
        const span = startSpan(name, options);
        return context.with(trace.setSpan(context.active(), span), fn, undefined, span);
      },
    } as Tracer;
  }
}

const recorder = new RecordingProvider();

describe("tracing", () => {
  before(() => {
    assert.ok(trace.setGlobalTracerProvider(recorder), "no other provider registered");
  });
  after(() => trace.disable());

  test("one SERVER span per request named by route pattern", async () => {
    const app = Fastify();
    registerTracing(app);
    app.get("/v1/conversations/:id", async () => ({}));
    await app.inject({ url: "/v1/conversations/conv_abc" });
    await app.close();
    const span = recorder.finished.find((s) => s.name === "GET /v1/conversations/:id");
    assert.ok(span, JSON.stringify(recorder.finished));
    assert.equal(span.kind, 1); // SpanKind.SERVER
    assert.equal(span.attributes["http.route"], "/v1/conversations/:id");
    assert.equal(span.attributes["http.response.status_code"], 200);
  });

  test("one CLIENT span per store operation, errors carry their code", async () => {
    const store = withStoreMetrics(await createStore("memory:"), createMetrics({ defaultMetrics: false }));
    const session = await store.create("t1");
    await assert.rejects(store.get("t1", "conv_00000000000000000000000000000000"));
    await store.close();
    const create = recorder.finished.find((s) => s.name === "store.create");
    assert.equal(create?.attributes["db.system.name"], "memory");
    assert.equal(create?.attributes["db.operation.name"], "create");
    const failed = recorder.finished.find((s) => s.name === "store.get");
    assert.equal(failed?.attributes["error.type"], "not_found");
    assert.equal(failed?.status?.code, 2); // SpanStatusCode.ERROR
    assert.ok(session.id);
  });

  test("upstream calls carry GenAI semantic-convention attributes", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const provider = withProviderMetrics(createMockProvider({ name: "mock-a" }), metrics);
    const request = {
      model: "mock-small",
      input: [{ type: "message" as const, role: "user" as const, content: "hello" }],
    };
    const result = await provider.complete(request);
    const events = [];
    for await (const event of provider.stream(request)) events.push(event);
    await provider.close();
    const spans = recorder.finished.filter((s) => s.name === "chat mock-small");
    assert.equal(spans.length, 2);
    for (const span of spans) {
      assert.equal(span.kind, 2); // SpanKind.CLIENT
      assert.equal(span.attributes["gen_ai.system"], "holdfast.mock");
      assert.equal(span.attributes["gen_ai.request.model"], "mock-small");
      assert.equal(span.attributes["gen_ai.usage.input_tokens"], result.usage.input_tokens);
      assert.equal(span.attributes["gen_ai.usage.output_tokens"], result.usage.output_tokens);
    }
    const text = await metrics.registry.metrics();
    assert.ok(
      text.includes('holdfast_upstream_request_duration_seconds_count{upstream="mock-a",outcome="ok"} 2'),
    );
    assert.ok(text.includes('holdfast_upstream_time_to_first_token_seconds_count{upstream="mock-a"} 1'));
    assert.ok(events.length > 0);
  });
});
