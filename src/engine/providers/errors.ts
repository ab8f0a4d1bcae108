/**
 * Typed upstream errors. Each keeps the upstream HTTP status (when there was one) in its message
 * and in `status`, says whether a retry may help (`retryable`) and whether another target may
 * serve the request (`fallback`). The server maps codes to statuses in one place.
 */
import { HoldfastError, type HoldfastErrorOptions } from "../../store/errors.ts";

export interface ProviderErrorOptions extends HoldfastErrorOptions {
  /** The upstream HTTP status, when the upstream answered. */
  status?: number;
  /** The provider (config name) that failed. */
  provider?: string;
  /** How long the upstream asked us to wait (retry-after), in ms. */
  retryAfterMs?: number;
}

/** Base class: an upstream failed in a way that is not the caller's fault. Code `upstream_error`. */
export class ProviderError extends HoldfastError {
  readonly status: number | null;
  readonly provider: string | null;
  readonly retryAfterMs: number | null;

  constructor(message: string, options: ProviderErrorOptions = {}, code = "upstream_error") {
    const retryAfterSeconds =
      options.retryAfterMs === undefined ? undefined : Math.ceil(options.retryAfterMs / 1000);
    super(code, message, { ...options, retryAfterSeconds });
    this.status = options.status ?? null;
    this.provider = options.provider ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** Whether the same target may succeed on a retry (408/409/429/5xx, network errors, timeouts). */
  get retryable(): boolean {
    return true;
  }

  /** Whether another target of the route may serve this request. */
  get fallback(): boolean {
    return true;
  }

  override get fault(): "caller" | "system" {
    return "system";
  }
}

/** No answer in time (connect, headers, body or idle stream). Code `upstream_timeout`. */
export class UpstreamTimeoutError extends ProviderError {
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options, "upstream_timeout");
  }
}

/** The upstream answered 429. Code `rate_limited`. */
export class RateLimitedError extends ProviderError {
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options, "rate_limited");
  }
}

/** A failure a retry on the same target cannot fix; another target may still serve the request. */
abstract class NotRetryableError extends ProviderError {
  override get retryable(): boolean {
    return false;
  }
}

/** A failure caused by the request itself: neither a retry nor another target helps, the caller must change it. */
abstract class CallerFaultError extends NotRetryableError {
  override get fallback(): boolean {
    return false;
  }
  override get fault(): "caller" | "system" {
    return "caller";
  }
}

/** The input does not fit the model's context window; the context engine compacts and retries. */
export class ContextLengthExceededError extends CallerFaultError {
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options, "context_length_exceeded");
  }
}

/** The upstream rejected the request as malformed (400/404/422…): another target would too. */
export class UpstreamInvalidRequestError extends CallerFaultError {
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options, "upstream_invalid_request");
  }
}

/**
 * The input holds a content part this upstream's API cannot receive (an OpenAI `file_id` sent to
 * Anthropic, a file type it cannot read). Refused before the request is sent, never dropped; the
 * caller must change the part, though another target of the route (another API) may take it.
 */
export class UnsupportedContentError extends NotRetryableError {
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options, "unsupported_content");
  }
  override get fault(): "caller" | "system" {
    return "caller";
  }
}

/** 401/402/403 from the upstream: Holdfast's key for it is wrong, or its account cannot pay. Another target may serve. */
export class UpstreamAuthError extends NotRetryableError {
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options, "upstream_auth_error");
  }
}

/** The circuit breaker of this upstream is open: the request was not sent. */
export class CircuitOpenError extends NotRetryableError {
  constructor(message: string, options?: ProviderErrorOptions) {
    super(message, options, "circuit_open");
  }
}

/** A route target, as a cancelled call names the one that had its request. */
export interface SentTarget {
  provider: string;
  model: string;
}

/**
 * The caller aborted (`signal`). Never retried, never falls back. `sentTo` names the target whose
 * request was on its way when it was cut (the router sets it): that upstream has the whole prompt
 * and bills its input, though it reported nothing. Null when nothing was sent (cut before the
 * call, between retries, or while the turn waited).
 */
export class CancelledError extends CallerFaultError {
  readonly sentTo: SentTarget | null;

  constructor(
    message = "The request was cancelled by the caller.",
    options?: ProviderErrorOptions & { sentTo?: SentTarget },
  ) {
    super(message, options, "cancelled");
    this.sentTo = options?.sentTo ?? null;
  }
}

/** The target a cancelled call's request had reached, or null (not cancelled, or nothing sent). */
export function cancelledInFlight(error: unknown): SentTarget | null {
  return error instanceof CancelledError ? error.sentTo : null;
}

export function isProviderError(value: unknown): value is ProviderError {
  return value instanceof ProviderError;
}

const CONTEXT_PATTERNS = [
  /context[_ ]length/i,
  /maximum context/i,
  /context window/i,
  /prompt is too long/i,
  /input length and `?max_tokens`? exceed/i,
  /too many (?:input )?tokens/i,
  /reduce the length of the messages/i,
];

/** Whether an upstream error body says the input exceeds the context window (OpenAI, Anthropic, vLLM…). */
export function isContextLengthMessage(code: string | undefined, message: string): boolean {
  if (code === "context_length_exceeded" || code === "string_above_max_length") return true;
  return CONTEXT_PATTERNS.some((pattern) => pattern.test(message));
}

/** Extracts `{code, type, message}` from OpenAI (`{error:{…}}`) or Anthropic (`{type:"error",error:{…}}`) bodies. */
export function parseErrorBody(text: string): { code?: string; type?: string; message: string } {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const error = (typeof body.error === "object" && body.error !== null ? body.error : body) as Record<
      string,
      unknown
    >;
    const message = typeof error.message === "string" ? clipMessage(error.message) : clipMessage(text);
    return {
      ...(typeof error.code === "string" ? { code: error.code } : {}),
      ...(typeof error.type === "string" ? { type: error.type } : {}),
      message,
    };
  } catch {
    return { message: clipMessage(text) || "(empty body)" };
  }
}

/** Upstream text kept in an error message: the first 500 characters, marked when cut. */
export function clipMessage(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}… (${text.length} characters)` : text;
}

/** Maps an upstream error answer to a typed error; the upstream status stays in the message. */
export function errorFromResponse(
  provider: string,
  status: number,
  bodyText: string,
  retryAfterMs: number | undefined,
): ProviderError {
  const { code, type, message } = parseErrorBody(bodyText);
  const detail = `${provider} answered ${status}${code ? ` (${code})` : type ? ` (${type})` : ""}: ${message}`;
  const options: ProviderErrorOptions = {
    status,
    provider,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  if ((status === 400 || status === 413 || status === 422) && isContextLengthMessage(code, message)) {
    return new ContextLengthExceededError(detail, options);
  }
  if (status === 429) return new RateLimitedError(detail, options);
  if (status === 408) return new UpstreamTimeoutError(detail, options);
  // 402: the account behind Holdfast's key cannot pay (Anthropic's billing_error, OpenRouter's
  // credits) — as a wrong key, neither the caller's fault nor fixed by a retry; another target may serve.
  if (status === 401 || status === 402 || status === 403) return new UpstreamAuthError(detail, options);
  if (status === 409 || status >= 500) return new ProviderError(detail, options);
  return new UpstreamInvalidRequestError(detail, options);
}

/** Parses `retry-after-ms` or `retry-after` (seconds or an HTTP date) into ms. */
export function parseRetryAfter(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | undefined {
  const first = (value: string | string[] | undefined): string | undefined =>
    Array.isArray(value) ? value[0] : value;
  const ms = first(headers["retry-after-ms"]);
  if (ms !== undefined && ms.trim() !== "" && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = first(headers["retry-after"]);
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Any failure the router sees, as a typed provider error (unknown errors become `upstream_error`). */
export function mapErrorForRouter(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError(`${provider} failed: ${message}`, { provider, cause: error });
}
