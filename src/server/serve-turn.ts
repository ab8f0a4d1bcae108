/**
 * The HTTP side of one turn, shared by `/v1/responses` and `/v1/chat/completions`: in-flight
 * tracking and idempotency key, then either a plain answer (cancelled when the client leaves) or
 * a server-sent-event stream, and in both cases the rate-limit usage settled with what the turn spent.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EngineEvent, TurnEngine } from "../engine/turn/turn-engine.ts";
import { summarizeError } from "../observability/error-summary.ts";
import type { JsonObject } from "../store/types.ts";
import type { ErrorBody } from "./errors.ts";
import { abortOnDisconnect, type InFlight } from "./in-flight.ts";
import { operationId } from "./preconditions.ts";
import { settleUsage } from "./rate-limit.ts";
import { streamSse } from "./sse-stream.ts";

export interface TurnRoute {
  request: FastifyRequest;
  reply: FastifyReply;
  engine: TurnEngine;
  inFlight: InFlight;
  /** The turn in the Responses API shape the engine takes. */
  body: unknown;
  /** Whether the caller asked for a stream. */
  stream: boolean;
  /** Puts a non-streamed turn's final response into the route's wire shape. */
  answer: (final: JsonObject) => unknown;
  /** Creates the route's event translator once the stream is open; `write` sends raw SSE text. */
  translator: (write: (chunk: string) => void) => TurnTranslator;
  /** Written after the last event (e.g. `data: [DONE]`). */
  trailer?: string;
  /**
   * Names the turn's errors as the route's request does (the Chat route: `messages[m]`, not the
   * translated body's `input[i]`): errors thrown before or without a stream, and those a stream
   * ends with once open (its `failed` event, a throw), whose `param` is then dropped.
   */
  renameError?: (error: unknown) => unknown;
}

/** Writes a turn's events in a route's stream shape. */
export interface TurnTranslator {
  handle(event: EngineEvent): void;
  /** The terminal error event of a stream that failed after it opened. */
  error(error: ErrorBody["error"]): void;
}

/** Provider events that carry output tokens: the first of them is a stream's first token. */
const TOKEN_EVENTS: ReadonlySet<string> = new Set([
  "text_delta",
  "refusal_delta",
  "reasoning_delta",
  "reasoning_summary_delta",
  "function_call_arguments_delta",
]);

export async function serveTurn(route: TurnRoute): Promise<unknown> {
  try {
    return await serveNamedTurn(route);
  } catch (error) {
    throw route.renameError ? route.renameError(error) : error;
  }
}

async function serveNamedTurn(route: TurnRoute): Promise<unknown> {
  const { request, reply, engine, body, renameError } = route;
  const key = operationId(request);
  const { controller, done } = route.inFlight.track();
  // What the turn spent upstream, told by the engine: not read from the answer, which for an
  // idempotent replay is the first turn's (that call is settled already) and for a stream the
  // client left is never seen here.
  let spentTokens = 0;
  // The end user owns the sessions the turn creates, and keys its idempotency ids; a token
  // scoped to one conversation may not create or fork another.
  const ctx = {
    signal: controller.signal,
    owner: request.principal?.owner ?? null,
    conversationScope: request.principal?.conversationId ?? null,
    // Whatever the client is told (it may be gone), an answer the store refused is the operator's
    // to know of: the store's limit may be too small for the models served.
    onCommitError: (error: unknown) =>
      request.log.error({ err: summarizeError(error) }, "turn commit failed"),
    // Told of the turn's own call and, apart, of its compaction's summarizer calls: both are spent.
    onSpent: (usage: { input_tokens: number; output_tokens: number }) => {
      spentTokens += usage.input_tokens + usage.output_tokens;
    },
    ...(key ? { idempotencyKey: key } : {}),
  };
  try {
    if (!route.stream) {
      const stopListening = abortOnDisconnect(reply, controller);
      try {
        const final = await engine.respond(request.tenant, body, ctx);
        return route.answer(final);
      } finally {
        stopListening();
      }
    }
    let translator: TurnTranslator | undefined;
    await streamSse({
      request,
      reply,
      controller,
      events: engine.respondStream(request.tenant, body, ctx),
      onEvent: (event, write) => {
        translator ??= route.translator(write);
        translator.handle(
          event.type === "failed" && renameError
            ? { ...event, error: renameError(event.error) as typeof event.error }
            : event,
        );
      },
      firstToken: (event) => event.type === "provider" && TOKEN_EVENTS.has(event.event.type),
      onError: (error, write) => {
        translator ??= route.translator(write);
        translator.error(error);
      },
      ...(route.trailer === undefined ? {} : { trailer: route.trailer }),
      ...(renameError ? { renameError } : {}),
    });
    return reply;
  } finally {
    done();
    await settleUsage(request, spentTokens);
  }
}
