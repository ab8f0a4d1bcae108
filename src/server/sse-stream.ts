/**
 * Streams an async iterator as server-sent events. The first event is awaited before any byte
 * is written, so validation errors still become a normal 4xx. After that the response is ours:
 * a client that goes away aborts `controller` (cancelling the upstream call) and stops the
 * iterator, whose own cleanup commits what was produced.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { summarizeError } from "../observability/error-summary.ts";
import { type ErrorBody, toErrorResponse } from "./errors.ts";
import { API_CACHE_CONTROL } from "./response-headers.ts";

export interface SseStreamOptions<T> {
  request: FastifyRequest;
  reply: FastifyReply;
  controller: AbortController;
  events: AsyncGenerator<T>;
  /** Writes one event; `write` sends raw SSE text. */
  onEvent: (event: T, write: (chunk: string) => void) => void;
  /**
   * Whether an event carries the stream's first token: what it writes goes out at once, with
   * everything before it, instead of at the end of the macrotask. An upstream read holding the
   * whole answer is followed in that macrotask by the rest of its events and the start of the
   * turn's commit, which the time to first token would otherwise include. Later events coalesce.
   */
  firstToken?: (event: T) => boolean;
  /** Written after the last event (e.g. `data: [DONE]`). */
  trailer?: string;
  /**
   * Writes the terminal error event when the iterator throws once the stream is open (the status
   * line is gone; a stream that just stopped would leave the client waiting for an end it never
   * gets). `error` is the OpenAI-shaped error the same failure would have answered as JSON,
   * with `param` null.
   */
  onError: (error: ErrorBody["error"], write: (chunk: string) => void) => void;
  /** Renames the error before `onError` (its message names the route's request; see serve-turn.ts). */
  renameError?: (error: unknown) => unknown;
}

export async function streamSse<T>(options: SseStreamOptions<T>): Promise<void> {
  const { request, reply, controller, events } = options;
  const raw = reply.raw;
  let gone = false;
  const onClose = (): void => {
    if (raw.writableFinished) return;
    gone = true;
    controller.abort();
  };
  // Listening before the first event: a client that leaves while the upstream is still silent
  // (latency, time to first token) cancels the upstream call as well. (The request's own 'close'
  // fires as soon as its body is read, so only the response's, i.e. the socket's, counts here.)
  raw.once("close", onClose);
  const first = await events.next();
  request.raw.once("close", onClose);
  reply.hijack();
  raw.writeHead(200, {
    // Headers hooks set on the reply (x-request-id) would otherwise go with onSend, which a
    // hijacked reply skips.
    ...definedHeaders(reply.getHeaders()),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": API_CACHE_CONTROL,
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  // Events produced in one macrotask (response.created + in_progress, the deltas of one upstream
  // read) go out as one socket write at the end of it: one syscall instead of one per event.
  // The stream's first token does not wait for the end of its macrotask (`firstToken`).
  let pending = "";
  let scheduled = false;
  const send = (): void => {
    if (pending.length > 0 && !gone && !raw.writableEnded) raw.write(pending);
    pending = "";
  };
  const flush = (): void => {
    scheduled = false;
    send();
  };
  const write = (chunk: string): void => {
    if (gone) return;
    pending += chunk;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  let tokenSent = options.firstToken === undefined;
  const handle = (event: T): void => {
    options.onEvent(event, write);
    if (tokenSent || !options.firstToken?.(event)) return;
    tokenSent = true;
    // The macrotask's own flush stays scheduled, for whatever the rest of it writes.
    send();
  };
  try {
    if (!first.done) handle(first.value);
    if (first.done) return;
    try {
      for (;;) {
        if (gone) break;
        const next = await events.next();
        if (next.done) break;
        handle(next.value);
      }
    } catch (error) {
      if (gone) throw error;
      const response = toErrorResponse(options.renameError ? options.renameError(error) : error);
      if (response.status >= 500) request.log.error({ err: summarizeError(error) }, "stream failed");
      // The request was checked before the first event: no field of it is at fault now, and a
      // param named further down (the store's `items[0]`) means nothing to the client.
      options.onError({ ...response.body.error, param: null }, write);
    }
    if (options.trailer && !gone) write(options.trailer);
  } finally {
    // Stopping early runs the generator's cleanup (commit of partial output, lock release).
    if (gone) await events.return(undefined);
    flush();
    if (!raw.writableEnded) raw.end();
  }
}

function definedHeaders(headers: Record<string, unknown>): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string" || typeof value === "number" || Array.isArray(value))
      out[name] = value as string | number | string[];
  }
  return out;
}
