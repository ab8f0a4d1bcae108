/**
 * Typed security errors. Each carries a stable `code`; `SECURITY_HTTP_STATUS` is the one table
 * the server's error mapper needs to turn them into 401/403/429/500 with OpenAI's error body.
 */
import { HoldfastError, type HoldfastErrorOptions } from "../store/errors.ts";

/** HTTP status for every code defined here (the server maps `code` → status in one place). */
export const SECURITY_HTTP_STATUS = Object.freeze({
  invalid_api_key: 401,
  invalid_token: 401,
  permission_denied: 403,
  rate_limit_exceeded: 429,
  decryption_failed: 500,
  headers_too_large: 431,
} as const);
export type SecurityErrorCode = keyof typeof SECURITY_HTTP_STATUS;

/** A missing, malformed, unknown, revoked or expired API key. Never says which, on purpose. */
export class InvalidApiKeyError extends HoldfastError {
  constructor(message = "Incorrect API key provided.", options?: HoldfastErrorOptions) {
    super("invalid_api_key", message, options);
  }
}

/** A bearer token (Holdfast access token, refresh token or OIDC token) that fails verification. */
export class InvalidTokenError extends HoldfastError {
  constructor(message = "The access token is invalid or expired.", options?: HoldfastErrorOptions) {
    super("invalid_token", message, options);
  }
}

/** Authenticated, but the credential lacks the scope or the resource is outside its reach. */
export class PermissionDeniedError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions) {
    super("permission_denied", message, options);
  }
}

/** A rate limit or spend cap rejected the request; `retryAfterSeconds` is always set (≥ 1). */
export class RateLimitError extends HoldfastError {
  /** Which limit tripped, e.g. `key:requests`, `owner:tokens`, `tenant:spend`. */
  readonly limit: string;
  constructor(message: string, limit: string, retryAfterSeconds: number) {
    super("rate_limit_exceeded", message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
    this.limit = limit;
  }
}

/**
 * Stored ciphertext that cannot be opened: wrong or destroyed key (crypto-shredded), a blob moved
 * to another item or session, or tampering. A system fault: the caller cannot fix it.
 */
export class DecryptionError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions) {
    super("decryption_failed", message, options);
  }

  override get fault(): "caller" | "system" {
    return "system";
  }
}

/** HTTP status for a HoldfastError code defined here, or `undefined` for other codes. */
export function securityHttpStatus(code: string): number | undefined {
  return (SECURITY_HTTP_STATUS as Record<string, number>)[code];
}
