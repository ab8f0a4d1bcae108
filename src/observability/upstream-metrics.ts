/**
 * Upstream observability without touching the router: `observeRouter` subscribes to its
 * `attempt` and `breaker` events (attempts, retries, failovers, breaker state), and
 * `withProviderMetrics` wraps one Provider to time each call, its time to first token, and open
 * one GenAI CLIENT span per call (`chat <model>`).
 */
import { SpanKind } from "@opentelemetry/api";
import type { AttemptRecord, Router } from "../engine/providers/router.ts";
import type { Provider, TurnEvent, TurnRequest, TurnResult } from "../engine/providers/types.ts";
import { errorOutcome } from "./bounded-label.ts";
import type { HoldfastMetrics } from "./create-metrics.ts";
import { failSpan, tracer } from "./tracing.ts";

export const BREAKER_STATES = ["closed", "open", "half-open"] as const;

/**
 * Codes after which the router does not try the next target (see engine/providers/errors.ts):
 * the caller's mistakes and cancellation. Any other failed attempt hands the request on.
 */
const NO_FAILOVER_CODES = new Set([
  "context_length_exceeded",
  "upstream_invalid_request",
  "cancelled",
  "invalid_argument",
]);

/** The part of the router this module reads: its events and breaker states. */
export type ObservedRouter = Pick<Router, "on" | "off" | "breakerStates">;

/** Subscribes to the router's events; returns a function that unsubscribes. */
export function observeRouter(router: ObservedRouter, metrics: HoldfastMetrics): () => void {
  const setState = (upstream: string, current: string): void => {
    for (const state of BREAKER_STATES)
      metrics.breakerState.set({ upstream, state }, state === current ? 1 : 0);
  };
  for (const [upstream, state] of Object.entries(router.breakerStates())) setState(upstream, state);
  const onAttempt = (record: AttemptRecord): void => {
    const upstream = record.provider;
    const outcome =
      record.error === undefined ? "ok" : errorOutcome({ code: record.error }, metrics.outcomes);
    metrics.upstreamAttempts.inc({ upstream, outcome });
    if (record.retries > 0) metrics.upstreamRetries.inc({ upstream }, record.retries);
    if (record.error !== undefined && !NO_FAILOVER_CODES.has(record.error)) {
      metrics.upstreamFailovers.inc({ upstream });
    }
  };
  const onBreaker = (transition: { name: string; to: string }): void => {
    setState(transition.name, transition.to);
    metrics.breakerTransitions.inc({ upstream: transition.name, to: transition.to });
  };
  router.on("attempt", onAttempt);
  router.on("breaker", onBreaker);
  return () => {
    router.off("attempt", onAttempt);
    router.off("breaker", onBreaker);
  };
}

const GEN_AI_SYSTEMS: Record<string, string> = {
  "openai-chat": "openai",
  "openai-responses": "openai",
  anthropic: "anthropic",
  mock: "holdfast.mock",
};

function spanAttributes(provider: Provider, request: TurnRequest): Record<string, string | number> {
  return {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": GEN_AI_SYSTEMS[provider.type] ?? provider.type,
    "gen_ai.request.model": request.model,
    "holdfast.upstream": provider.name,
  };
}

function usageAttributes(result: TurnResult): Record<string, string | number> {
  return {
    "gen_ai.response.model": result.model,
    "gen_ai.response.id": result.id,
    "gen_ai.response.finish_reasons": result.finish_reason,
    "gen_ai.usage.input_tokens": result.usage.input_tokens,
    "gen_ai.usage.output_tokens": result.usage.output_tokens,
  };
}

/** Wraps a provider so each call is timed and traced; behaviour and errors are unchanged. */
export function withProviderMetrics(provider: Provider, metrics: HoldfastMetrics): Provider {
  const upstream = provider.name;
  return {
    name: provider.name,
    type: provider.type,
    close: () => provider.close(),
    async complete(request: TurnRequest): Promise<TurnResult> {
      const span = tracer().startSpan(`chat ${request.model}`, {
        kind: SpanKind.CLIENT,
        attributes: spanAttributes(provider, request),
      });
      const started = performance.now();
      let outcome = "ok";
      try {
        const result = await provider.complete(request);
        span.setAttributes(usageAttributes(result));
        return result;
      } catch (error) {
        outcome = errorOutcome(error, metrics.outcomes);
        failSpan(span, error);
        throw error;
      } finally {
        metrics.upstreamDuration.observe({ upstream, outcome }, (performance.now() - started) / 1000);
        span.end();
      }
    },
    stream(request: TurnRequest): AsyncIterable<TurnEvent> {
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<TurnEvent> {
          const span = tracer().startSpan(`chat ${request.model}`, {
            kind: SpanKind.CLIENT,
            attributes: { ...spanAttributes(provider, request), "gen_ai.request.stream": "true" },
          });
          const started = performance.now();
          let first = true;
          let outcome = "ok";
          try {
            for await (const event of provider.stream(request)) {
              if (first) {
                first = false;
                metrics.upstreamTtft.observe({ upstream }, (performance.now() - started) / 1000);
              }
              if (event.type === "done") span.setAttributes(usageAttributes(event.result));
              yield event;
            }
          } catch (error) {
            outcome = errorOutcome(error, metrics.outcomes);
            failSpan(span, error);
            throw error;
          } finally {
            metrics.upstreamDuration.observe({ upstream, outcome }, (performance.now() - started) / 1000);
            span.end();
          }
        },
      };
    },
  };
}
