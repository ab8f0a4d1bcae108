/**
 * The transport: one `fetch` per call with the bearer token, JSON in and out, OpenAI-shaped
 * errors turned into `HoldfastApiError`, thrown fetches into `HoldfastNetworkError`, and the
 * 401 → refresh once → retry dance delegated to the TokenManager.
 */
import type { TokenManager } from "./auth.ts";
import { HoldfastApiError, HoldfastNetworkError } from "./errors.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

/** A parsed JSON answer with the version from its ETag, when the server sent one. */
export interface HttpResult<T> {
  data: T;
  version: number | null;
  headers: Headers;
}

export interface HttpOptions {
  baseUrl: string;
  fetch: FetchLike;
  tokens: TokenManager;
}

/** `"12"` or `W/"12"` → 12. */
export function parseVersion(etag: string | null): number | null {
  if (etag === null) return null;
  const match = /^(?:W\/)?"(\d+)"$/.exec(etag.trim());
  return match ? Number(match[1]) : null;
}

export class HttpTransport {
  readonly #baseUrl: string;
  readonly #fetch: FetchLike;
  readonly #tokens: TokenManager;

  constructor(options: HttpOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#fetch = options.fetch;
    this.#tokens = options.tokens;
  }

  /** Sends a request and returns the raw 2xx Response (for streams); errors are thrown. */
  async raw(path: string, options: RequestOptions = {}): Promise<Response> {
    let token = this.#tokens.accessToken;
    let response = await this.#send(path, options, token);
    if (response.status === 401 && this.#tokens.canRefresh) {
      await response.body?.cancel();
      token = await this.#tokens.refreshAfter(token);
      response = await this.#send(path, options, token);
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  /** Sends a request and parses its JSON answer. */
  async json<T>(path: string, options: RequestOptions = {}): Promise<HttpResult<T>> {
    const response = await this.raw(path, options);
    let data: T;
    try {
      data = (await response.json()) as T;
    } catch (error) {
      throw new HoldfastNetworkError(`The answer to ${path} was cut off.`, { cause: error });
    }
    return { data, version: parseVersion(response.headers.get("etag")), headers: response.headers };
  }

  async #send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(options.body);
    }
    const init: RequestInit = { method: options.method ?? "GET", headers };
    if (body !== undefined) init.body = body;
    if (options.signal) init.signal = options.signal;
    try {
      return await this.#fetch(this.#baseUrl + path + queryString(options.query), init);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new HoldfastNetworkError(`Could not reach ${this.#baseUrl}: ${String(error)}`, { cause: error });
    }
  }
}

function queryString(query: RequestOptions["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * `retry-after-ms`, or `Retry-After` as delay-seconds or an HTTP date, in ms; `null` when absent
 * or unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | null {
  const ms = headers.get("retry-after-ms")?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

async function toApiError(response: Response): Promise<HoldfastApiError> {
  let body: { error?: { type?: string; code?: string; message?: string; param?: string | null } } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's HTML page): the status alone must do.
  }
  return new HoldfastApiError(response.status, body.error ?? {}, {
    retryAfterMs: parseRetryAfter(response.headers),
  });
}
