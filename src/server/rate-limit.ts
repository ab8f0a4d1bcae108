/**
 * Rate limits and token budgets per API key and per end user. Every request takes one request
 * token; model calls also reserve an estimate of their tokens (prompt from the body size, media
 * parts at their cost, plus the output cap) before the call, settled with the real usage afterwards.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { summarizeError } from "../observability/error-summary.ts";
import type { RateLimiter, Reservation } from "../security/rate-limit/limiter.ts";
import { mediaOfItems } from "../store/tokens.ts";
import type { JsonValue } from "../store/types.ts";
import { isPlainObject } from "../store/validate.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The token reservation of a model call; routes settle it with the real usage. */
    reservation: Reservation | null;
  }
}

const MODEL_ROUTES = new Set(["/v1/responses", "/v1/chat/completions"]);
const DEFAULT_OUTPUT_ESTIMATE = 1024;

/**
 * Below this size a body is estimated by its length alone. Above it, it may carry images, files
 * or audio, whose base64 would reserve ~180,000 tokens for a 700 KB photo that costs ~800: their
 * bytes are taken out and their cost put in (the store's estimate, media-tokens.ts).
 */
const MEDIA_SCAN_BYTES = 16 * 1024;

function callsModel(request: FastifyRequest): boolean {
  return request.method === "POST" && MODEL_ROUTES.has(request.routeOptions.url ?? "");
}

/**
 * The request body's size in bytes: its Content-Length, or, for a body sent with
 * `Transfer-Encoding: chunked` (which has none), the length of the parsed body as JSON. The
 * reservation runs in preHandler, after parsing, so the body is there; without it a chunked
 * body would count as 0 prompt tokens and pass any tokens-per-minute budget.
 */
function bodyBytes(request: FastifyRequest): number {
  const length = request.headers["content-length"];
  if (length !== undefined) return Number(length);
  return request.body === undefined ? 0 : Buffer.byteLength(JSON.stringify(request.body));
}

function estimateTokens(request: FastifyRequest): number {
  if (!callsModel(request)) return 0;
  const body = isPlainObject(request.body) ? request.body : {};
  const output = body.max_output_tokens ?? body.max_completion_tokens ?? body.max_tokens;
  const outputTokens = typeof output === "number" ? output : DEFAULT_OUTPUT_ESTIMATE;
  const promptBytes = bodyBytes(request);
  if (!(promptBytes >= MEDIA_SCAN_BYTES)) return Math.ceil(promptBytes / 4) + outputTokens;
  const media = mediaOfItems((body.input ?? body.messages) as JsonValue | undefined);
  return Math.ceil(Math.max(0, promptBytes - media.bytes) / 4) + Math.ceil(media.tokens) + outputTokens;
}

export function registerRateLimits(app: FastifyInstance, limiter: RateLimiter): void {
  app.addHook("preHandler", async (request) => {
    const principal = request.principal;
    if (!principal) return;
    request.reservation = await limiter.reserve({
      tenant: principal.tenant,
      keyId: principal.keyId,
      owner: principal.owner,
      estimatedTokens: estimateTokens(request),
      // The daily spend cap stops model calls only: reading or deleting conversations spends nothing.
      callsModel: callsModel(request),
    });
  });
  // A model call refused before its turn starts (a bad body or header) never reaches the turn's
  // settle: give the whole estimate back, or every such refusal leaks it. A turn that ran has
  // settled already (a stream answers 200 and settles when it ends).
  app.addHook("onResponse", async (request, reply) => {
    if (request.reservation === null || reply.statusCode < 400) return;
    const reservation = request.reservation;
    request.reservation = null;
    await settleQuietly(request, reservation, 0);
  });
}

/**
 * Settling only corrects a bucket by the estimate's error, after the turn is committed (or
 * refused): a backend that cannot be reached then (the shared Redis went down) must not turn
 * the turn's answer into an error — a client retrying it would run the turn twice.
 */
async function settleQuietly(
  request: FastifyRequest,
  reservation: Reservation,
  tokens: number,
): Promise<void> {
  try {
    await reservation.settle(tokens);
  } catch (error) {
    request.log.warn({ err: summarizeError(error) }, "rate-limit usage not settled");
  }
}

/**
 * Settles a request's reservation with the tokens its turn spent upstream (0 when no model
 * answered, and for a replay, which called none).
 */
export async function settleUsage(request: FastifyRequest, tokens: number): Promise<void> {
  const reservation = request.reservation;
  request.reservation = null;
  if (reservation) await settleQuietly(request, reservation, tokens);
}
