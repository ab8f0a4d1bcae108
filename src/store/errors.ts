/**
 * Typed errors with stable codes. The server maps them to HTTP statuses in one place; the
 * CLI maps them to exit codes. `fault` separates the caller's mistakes from the system's.
 */

export const ERROR_CODES = [
  "not_found",
  "conflict",
  "invalid_argument",
  "payload_too_large",
  "unavailable",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface HoldfastErrorOptions {
  /** The input field at fault, reported as OpenAI's `param`. */
  param?: string;
  cause?: unknown;
  /** Seconds the caller should wait before retrying (for `unavailable`). */
  retryAfterSeconds?: number;
  /**
   * For the operator only: where on the server the failure is (an archive's directory, file or
   * database). Never in an API answer, and never request content: the server logs it, the CLI
   * prints it under the message.
   */
  detail?: string;
}

export class HoldfastError extends Error {
  readonly code: string;
  readonly param: string | null;
  readonly retryAfterSeconds: number | null;
  /** See HoldfastErrorOptions.detail. */
  readonly detail: string | null;

  constructor(code: string, message: string, options: HoldfastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.param = options.param ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
    this.detail = options.detail ?? null;
  }

  /** Whether the caller can fix this by changing the request. */
  get fault(): "caller" | "system" {
    return this.code === "unavailable" || this.code === "internal" ? "system" : "caller";
  }
}

export class NotFoundError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions) {
    super("not_found", message, options);
  }
}

export class ConflictError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions & { code?: string }) {
    super(options?.code ?? "conflict", message, options);
  }
}

export class InvalidArgumentError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions) {
    super("invalid_argument", message, options);
  }
}

export class PayloadTooLargeError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions) {
    super("payload_too_large", message, options);
  }
}

export class UnavailableError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions) {
    super("unavailable", message, { retryAfterSeconds: 1, ...options });
  }
}

/** The store under a call lacks an optional capability (e.g. a driver that cannot delete items). */
export class UnsupportedError extends HoldfastError {
  constructor(message: string, options?: HoldfastErrorOptions) {
    super("unsupported", message, options);
  }
}

export function isHoldfastError(value: unknown): value is HoldfastError {
  return value instanceof HoldfastError;
}

export function sessionNotFound(id: string): NotFoundError {
  return new NotFoundError(`No session with id '${id}'.`, { param: "session_id" });
}

export function versionConflict(id: string, expected: number, actual: number): ConflictError {
  return new ConflictError(
    `Session '${id}' is at version ${actual}, not the expected ${expected}; re-read it and retry.`,
    { param: "expected_version" },
  );
}

/**
 * An append reached a session whose status is `archived`: its items may be in cold storage
 * (an archive stub), so appending would number new items after ones that are not there.
 * `withArchives` restores the session and retries; without it, restore the session (or set its
 * status back to `active`) first.
 */
export class SessionArchivedError extends HoldfastError {
  constructor(id: string) {
    super(
      "session_archived",
      `Session '${id}' is archived; restore it (or set its status to active) before appending to it.`,
      { param: "session_id" },
    );
  }
}

/** Another turn holds the conversation (turn claims, busy policy `reject` or a queue wait run out). */
export function conversationBusy(id: string, detail = "retry when it completes"): ConflictError {
  return new ConflictError(`Another response is in progress on conversation '${id}'; ${detail}.`, {
    code: "conversation_busy",
    param: "conversation",
  });
}
