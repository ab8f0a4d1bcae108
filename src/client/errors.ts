/**
 * Client-side errors. `HoldfastApiError` carries the server's OpenAI-shaped error body
 * (`{ error: { type, code, message, param } }`) plus the HTTP status; `HoldfastNetworkError`
 * means the request never got an answer (offline, DNS, connection reset) and is safe to retry
 * with the same idempotency key.
 */

/** Base class: every error the client throws has a stable `code`. */
export class HoldfastClientError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The server answered with a non-2xx status. */
export class HoldfastApiError extends HoldfastClientError {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  /** How long the server asked to wait before trying again (`Retry-After` on a 429 or 503), in ms. */
  readonly retryAfterMs: number | null;
  constructor(
    status: number,
    body: { type?: string; code?: string; message?: string; param?: string | null },
    options: { retryAfterMs?: number | null } = {},
  ) {
    super(body.code ?? `http_${status}`, body.message ?? `HTTP ${status}`);
    this.status = status;
    this.type = body.type ?? "api_error";
    this.param = body.param ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

/** No answer from the server: the request may or may not have reached it. */
export class HoldfastNetworkError extends HoldfastClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("network_error", message, options);
  }
}

/** Whether an error means "the network is gone" (queue and retry) rather than "the server said no". */
export function isNetworkError(error: unknown): error is HoldfastNetworkError {
  return error instanceof HoldfastNetworkError;
}

/**
 * Whether an error is the server's 409 `conflict` on the version check: the conversation moved
 * (another device wrote to it), so re-read and retry. Other 409s are not: `conversation_busy`
 * (retry later as is), `idempotency_conflict`, or an item id that already exists (`param:
 * "items.id"`), which no re-read fixes.
 */
export function isConflictError(error: unknown): error is HoldfastApiError {
  return (
    error instanceof HoldfastApiError &&
    error.status === 409 &&
    error.code === "conflict" &&
    error.param === "expected_version"
  );
}
