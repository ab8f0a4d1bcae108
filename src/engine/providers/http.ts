/**
 * Pooled keep-alive HTTP to one upstream origin (undici Pool), with the four timeouts: connect,
 * headers (time to first byte), body (whole non-streamed body) and idle (gap between streamed
 * chunks). Transport failures and error answers become typed provider errors.
 */

import { Pool } from "undici";
import { currentRequestId, REQUEST_ID_HEADER } from "../../observability/logging.ts";
import {
  CancelledError,
  errorFromResponse,
  ProviderError,
  parseRetryAfter,
  UpstreamTimeoutError,
} from "./errors.ts";
import { parseSse, type SseEvent } from "./sse.ts";

export interface TimeoutOptions {
  /** TCP/TLS connect. */
  connectMs: number;
  /** From request sent to response headers received. */
  headersMs: number;
  /** Whole body of a non-streamed answer, after the headers. */
  bodyMs: number;
  /** Longest gap between two chunks of a body (streams stall here). */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<TimeoutOptions> = Object.freeze({
  connectMs: 10_000,
  headersMs: 120_000,
  bodyMs: 600_000,
  idleMs: 120_000,
});

export interface HttpClientOptions {
  /** Provider name, used in error messages. */
  provider: string;
  /** Base URL; its path (e.g. `/v1`) prefixes every request path. */
  baseUrl: string;
  headers: Readonly<Record<string, string>>;
  timeouts: Readonly<TimeoutOptions>;
  /** Max sockets to the origin. Default 256. */
  maxConnections?: number;
  /** Idle keep-alive socket lifetime. Default 30 s. */
  keepAliveMs?: number;
  /**
   * A pool shared with other providers of the same origin (see `createPool`); the client then
   * does not close it. Without one the client owns a pool of its own.
   */
  pool?: Pool;
}

export interface PoolStats {
  connected: number;
  free: number;
  pending: number;
  running: number;
  size: number;
}

/** The events of a streamed answer. */
export interface SseStream extends AsyncIterable<SseEvent> {
  /**
   * Marks the protocol-level end (`[DONE]`, `message_stop`…). Stopping after this drains the few
   * bytes left so the keep-alive socket is reused; stopping before it destroys the socket, which
   * cancels the upstream generation at once.
   */
  complete(): void;
}

export interface HttpClient {
  /** POSTs JSON and resolves with the parsed JSON answer; error statuses throw typed errors. */
  postJson(path: string, body: unknown, signal?: AbortSignal): Promise<unknown>;
  /** POSTs JSON and resolves once 2xx headers arrived with the SSE events of the body. */
  postStream(path: string, body: unknown, signal?: AbortSignal): Promise<SseStream>;
  /**
   * `text` with this client's credentials (API key headers) masked: upstream error text goes into
   * messages the client and the logs see, and some upstreams echo the key they were sent.
   */
  redact(text: string): string;
  stats(): PoolStats;
  close(): Promise<void>;
}

/** Headers whose values are credentials, masked wherever upstream error text repeats them. */
const SECRET_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "x-goog-api-key",
]);
/** The error body read from an upstream answering >= 400; the rest is dropped (the message keeps 500 chars). */
const MAX_ERROR_BODY = 16_384;

/** The credentials in `headers`: each secret header's value and, for `Bearer x` / `Basic x`, `x` alone. */
function secretsOf(headers: Readonly<Record<string, string>>): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase())) continue;
    const token = /^(?:bearer|basic)\s+(.+)$/i.exec(value.trim())?.[1] ?? value.trim();
    // Very short values would mask ordinary words; no real key is that short.
    if (token.length >= 8) secrets.push(token);
  }
  return secrets;
}

/** `text` with every occurrence of each secret replaced by `[redacted]`. */
function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.replaceAll(secret, "[redacted]");
  return out;
}

/** Creates the pooled client for one upstream. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const url = new URL(options.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, "");
  const { provider, timeouts } = options;
  const owned = options.pool === undefined;
  const pool = options.pool ?? createPool(url.origin, options);
  const headers = { "content-type": "application/json", accept: "application/json", ...options.headers };
  const streamHeaders = { ...headers, accept: "text/event-stream" };
  const secrets = secretsOf(options.headers);
  const redact = (text: string): string => maskSecrets(text, secrets);

  /** The id of the client request this call serves, so upstream logs can be joined with ours. */
  function withRequestId(base: Record<string, string>): Record<string, string> {
    const id = currentRequestId();
    return id === undefined ? base : { ...base, [REQUEST_ID_HEADER]: id };
  }

  async function send(path: string, body: unknown, stream: boolean, signal: AbortSignal | undefined) {
    if (signal?.aborted) throw new CancelledError(undefined, { provider });
    try {
      const response = await pool.request({
        method: "POST",
        path: prefix + path,
        headers: withRequestId(stream ? streamHeaders : headers),
        // A Buffer rather than the string: undici's request handler keeps the body it was given
        // until the response ends, and a string is the whole serialized window on the JS heap
        // for the length of a stream (scavenges copy and promote it). undici would make this same
        // Buffer from the string; its bytes live outside the heap.
        body: Buffer.from(JSON.stringify(body)),
        // Per request, so providers sharing a pool keep their own timeouts.
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.idleMs,
        ...(signal ? { signal } : {}),
      });
      if (response.statusCode >= 400) {
        const text = redact(await readErrorBody(response.body));
        throw errorFromResponse(provider, response.statusCode, text, parseRetryAfter(response.headers));
      }
      return response;
    } catch (error) {
      throw mapTransportError(provider, error, signal);
    }
  }

  return {
    async postJson(path, body, signal) {
      const response = await send(path, body, false, signal);
      // The body timer covers the whole body; undici's bodyTimeout only covers gaps between chunks.
      const timer = setTimeout(() => {
        response.body.destroy(
          new UpstreamTimeoutError(`${provider} did not send its whole body within ${timeouts.bodyMs} ms.`, {
            provider,
          }),
        );
      }, timeouts.bodyMs);
      try {
        return await response.body.json();
      } catch (error) {
        throw mapTransportError(provider, error, signal);
      } finally {
        clearTimeout(timer);
      }
    },
    async postStream(path, body, signal) {
      const response = await send(path, body, true, signal);
      let completed = false;
      const events = (async function* events(): AsyncGenerator<SseEvent> {
        try {
          yield* parseSse(response.body.iterator({ destroyOnReturn: false }));
        } catch (error) {
          throw mapTransportError(provider, error, signal);
        } finally {
          if (!response.body.destroyed) {
            // Idle timeout still bounds the drain; an unfinished stream is cut at once.
            if (completed) await response.body.dump({ limit: 65_536 }).catch(() => {});
            else {
              // undici destroys an unfinished body with an AbortError 'error' event, and nothing
              // listens any more: unhandled, it would take the process down.
              response.body.on("error", ignore);
              response.body.destroy();
            }
          }
        }
      })();
      return Object.assign(events, {
        complete() {
          completed = true;
        },
      });
    },
    redact,
    stats() {
      return statsOf(pool);
    },
    async close() {
      if (owned) await pool.destroy();
    },
  };
}

function ignore(): void {}

/** The first `MAX_ERROR_BODY` bytes of an error answer; a longer body is cut (its socket is dropped). */
async function readErrorBody(
  body: AsyncIterable<Buffer> & { destroy(): unknown; on(event: "error", listener: () => void): unknown },
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_ERROR_BODY) {
      body.on("error", ignore); // the AbortError of an unfinished body, as for streams
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString("utf8", 0, Math.min(size, MAX_ERROR_BODY));
}

export function statsOf(pool: Pool): PoolStats {
  const { connected, free, pending, running, size } = pool.stats;
  return { connected, free, pending, running, size };
}

/** A keep-alive pool for one origin; connect timeout and size come from the options. */
export function createPool(
  origin: string,
  options: Pick<HttpClientOptions, "timeouts" | "maxConnections" | "keepAliveMs">,
): Pool {
  return new Pool(origin, {
    connections: options.maxConnections ?? 256,
    keepAliveTimeout: options.keepAliveMs ?? 30_000,
    connect: { timeout: options.timeouts.connectMs },
    headersTimeout: options.timeouts.headersMs,
    bodyTimeout: options.timeouts.idleMs,
  });
}

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** Turns undici/network/abort errors into typed provider errors; typed errors pass through. */
export function mapTransportError(provider: string, error: unknown, signal?: AbortSignal): ProviderError {
  if (signal?.aborted) return new CancelledError(undefined, { provider, cause: error });
  if (error instanceof ProviderError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === "string" && TIMEOUT_CODES.has(code)) {
    return new UpstreamTimeoutError(`${provider} timed out (${code}): ${message}`, {
      provider,
      cause: error,
    });
  }
  if (error instanceof SyntaxError) {
    return new ProviderError(`${provider} sent a body that is not valid JSON: ${message}`, {
      provider,
      cause: error,
    });
  }
  return new ProviderError(
    `${provider} is unreachable or dropped the connection (${String(code ?? "network")}): ${message}`,
    {
      provider,
      cause: error,
    },
  );
}
