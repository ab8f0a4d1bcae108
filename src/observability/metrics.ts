/**
 * `registerMetrics(app, { metrics })`: HTTP duration hooks and `GET /metrics` in the Prometheus
 * text format, plus `recordTurn()` for the engine to report usage and cost after each turn.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { HoldfastMetrics } from "./create-metrics.ts";

export interface RegisterMetricsOptions {
  metrics: HoldfastMetrics;
  /** Route of the exposition. Default `/metrics`. */
  path?: string;
  /** When set, `/metrics` requires `Authorization: Bearer <token>` (401 otherwise). */
  bearerToken?: string;
}

/** Label value for routes Fastify did not match: every unknown URL shares it. */
export const UNMATCHED_ROUTE = "unmatched";

const STARTED = Symbol("holdfast.metrics.started");

type Timed = FastifyRequest & { [STARTED]?: bigint };

/** `2xx`, `4xx`, … — the status class keeps the label set small. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** Adds the timing hooks and the exposition route. Call once, on the root instance. */
export function registerMetrics(app: FastifyInstance, options: RegisterMetricsOptions): void {
  const { metrics } = options;
  const path = options.path ?? "/metrics";
  app.addHook("onRequest", (request, _reply, done) => {
    (request as Timed)[STARTED] = process.hrtime.bigint();
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    observe(metrics, request as Timed, reply);
    done();
  });
  const expected = options.bearerToken === undefined ? null : sha256(`Bearer ${options.bearerToken}`);
  app.get(path, { config: { public: true } }, async (request, reply) => {
    // Digests of equal length, compared in constant time: the answer's timing says nothing of
    // how much of a guess was right.
    if (expected !== null && !timingSafeEqual(sha256(request.headers.authorization ?? ""), expected)) {
      // Answered here, in the API's error shape, so the route works on any Fastify instance.
      return reply
        .code(401)
        .header("www-authenticate", "Bearer")
        .send({
          error: {
            type: "invalid_request_error",
            code: "unauthenticated",
            message: `${path} requires 'Authorization: Bearer <token>' with the metrics token the server was started with (HOLDFAST_METRICS_TOKEN for holdfast serve).`,
            param: null,
          },
        });
    }
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}

function observe(metrics: HoldfastMetrics, request: Timed, reply: FastifyReply): void {
  const started = request[STARTED];
  if (started === undefined) return;
  // The route pattern (`/v1/conversations/:id`), never the URL: ids and junk paths stay out of labels.
  const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  metrics.httpDuration.observe(
    { method: knownMethod(request.method), route, status_class: statusClass(reply.statusCode) },
    seconds,
  );
  if (reply.statusCode === 429) metrics.httpRateLimited.inc({ route });
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

function knownMethod(method: string): string {
  return METHODS.has(method) ? method : "OTHER";
}

/** What the engine reports after each committed turn. */
export interface TurnUsage {
  tenant: string;
  /** The model that served the turn (or the requested one when none did). */
  model: string;
  usage: { input_tokens: number; output_tokens: number; cached_tokens?: number };
  /** Cost in US dollars; null or absent when the model has no price. */
  costUsd?: number | null;
}

/** Counts one turn's tokens and cost by tenant and model. */
export function recordTurn(metrics: HoldfastMetrics, turn: TurnUsage): void {
  const labels = { tenant: metrics.tenants.value(turn.tenant), model: metrics.models.value(turn.model) };
  metrics.turns.inc(labels);
  addTokens(metrics, labels, "input", turn.usage.input_tokens);
  addTokens(metrics, labels, "output", turn.usage.output_tokens);
  addTokens(metrics, labels, "cached", turn.usage.cached_tokens ?? 0);
  if (typeof turn.costUsd === "number" && Number.isFinite(turn.costUsd) && turn.costUsd > 0) {
    metrics.cost.inc(labels, turn.costUsd);
  }
}

/** What a turn's compaction spent on summarizer calls (the engine's `onCompaction`). */
export interface CompactionUsage {
  tenant: string;
  /** The model that served the summarizer calls. */
  model: string;
  calls: number;
  usage: { input_tokens: number; output_tokens: number; cached_tokens?: number };
  costUsd?: number | null;
}

/**
 * Counts compaction's summarizer calls: their tokens and cost in the totals every upstream call
 * adds to (`holdfast_tokens_total`, `holdfast_cost_usd_total`) and in the compaction share beside
 * them; never in `holdfast_turns_total` (they are not turns).
 */
export function recordCompaction(metrics: HoldfastMetrics, spend: CompactionUsage): void {
  const labels = { tenant: metrics.tenants.value(spend.tenant), model: metrics.models.value(spend.model) };
  if (Number.isFinite(spend.calls) && spend.calls > 0) metrics.compactionCalls.inc(labels, spend.calls);
  const directions: [string, number][] = [
    ["input", spend.usage.input_tokens],
    ["output", spend.usage.output_tokens],
    ["cached", spend.usage.cached_tokens ?? 0],
  ];
  for (const [direction, n] of directions) {
    addTokens(metrics, labels, direction, n);
    if (Number.isFinite(n) && n > 0) metrics.compactionTokens.inc({ ...labels, direction }, n);
  }
  const cost = spend.costUsd;
  if (typeof cost === "number" && Number.isFinite(cost) && cost > 0) {
    metrics.cost.inc(labels, cost);
    metrics.compactionCost.inc(labels, cost);
  }
}

function addTokens(
  metrics: HoldfastMetrics,
  labels: { tenant: string; model: string },
  direction: string,
  n: number,
): void {
  if (Number.isFinite(n) && n > 0) metrics.tokens.inc({ ...labels, direction }, n);
}
