/**
 * Traces through `@opentelemetry/api` only: every call here is a no-op until the embedding
 * application registers an OpenTelemetry SDK (a global TracerProvider). Span names and
 * attributes follow the OpenTelemetry HTTP, database and GenAI semantic conventions.
 */
import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import type { FastifyInstance } from "fastify";

export const TRACER_NAME = "holdfast";

/** The Holdfast tracer from the global provider (no-op without an SDK). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Marks a span failed with the error's stable code, without recording its message (may hold content). */
export function failSpan(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  span.setAttribute("error.type", typeof code === "string" ? code : ((error as Error)?.name ?? "Error"));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Runs `fn` inside a span that ends when it settles; failures mark the span as errored. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

declare module "fastify" {
  interface FastifyRequest {
    /** The server span of this request (a no-op span without an SDK). */
    otelSpan: Span | null;
  }
}

/**
 * One SERVER span per request, named `METHOD /route/pattern` (the pattern, never the raw URL),
 * with `http.request.method`, `http.route`, `http.response.status_code` and `holdfast.request_id`.
 */
export function registerTracing(app: FastifyInstance): void {
  app.decorateRequest("otelSpan", null);
  app.addHook("onRequest", (request, _reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    request.otelSpan = tracer().startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": request.method,
        "http.route": route,
        "url.scheme": request.protocol,
        "holdfast.request_id": request.id,
      },
    });
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    const span = request.otelSpan;
    if (span) {
      span.setAttribute("http.response.status_code", reply.statusCode);
      if (request.tenant) span.setAttribute("holdfast.tenant", request.tenant);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      request.otelSpan = null;
    }
    done();
  });
}
