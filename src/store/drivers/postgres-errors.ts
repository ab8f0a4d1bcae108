/**
 * Maps what `pg` throws to the store's typed errors. Anything that means "the database is not
 * answering right now" (refused or dropped connections, timeouts, shutdowns, too many clients)
 * becomes `unavailable` so callers retry; start-up failures get a message that names the cause.
 */
import {
  ConflictError,
  HoldfastError,
  InvalidArgumentError,
  isHoldfastError,
  UnavailableError,
} from "../errors.ts";

interface PgLikeError {
  code?: string;
  message?: string;
  constraint?: string;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

/** SQLSTATE values (or 2-char classes) that are transient: retrying later can succeed. */
const TRANSIENT_SQLSTATES = ["08", "53", "57P", "57014", "40001", "40P01", "55P03", "58"];

const CLIENT_MESSAGES = [
  "Connection terminated",
  "Query read timeout",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "Connection ended",
  "Client was closed",
];

/** True when the error says the connection or server is gone or too slow (not a SQL mistake). */
export function isConnectionError(error: unknown): boolean {
  const e = (error ?? {}) as PgLikeError;
  if (typeof e.code === "string") {
    if (NETWORK_CODES.has(e.code)) return true;
    if (e.code.length === 5 && TRANSIENT_SQLSTATES.some((p) => e.code!.startsWith(p))) return true;
  }
  const message = typeof e.message === "string" ? e.message : "";
  return CLIENT_MESSAGES.some((m) => message.includes(m));
}

/** Translates a runtime failure into a typed store error (already-typed errors pass through). */
export function toStoreError(error: unknown, target: string): HoldfastError {
  if (isHoldfastError(error)) return error;
  const e = (error ?? {}) as PgLikeError;
  if (isConnectionError(error)) {
    return new UnavailableError(
      `Postgres at ${target} is unavailable (${e.message ?? e.code}); retry shortly.`,
      {
        cause: error,
      },
    );
  }
  if (e.code === "23505") {
    if (e.constraint === "sessions_tenant_id_key") {
      return new ConflictError("A session with this id already exists.", { param: "id", cause: error });
    }
    if (e.constraint === "items_sid_id_key") {
      return new ConflictError("An item with this id already exists in the session.", {
        param: "items.id",
        cause: error,
      });
    }
  }
  return new HoldfastError("internal", `Postgres error: ${e.message ?? String(error)}`, { cause: error });
}

/**
 * Explains why the first connection failed: the host, the credentials or the database. Config
 * mistakes are `invalid_argument` (fix the URL); an unreachable server is `unavailable`.
 */
export function describeStartupError(error: unknown, target: string): HoldfastError {
  if (isHoldfastError(error)) return error;
  const e = (error ?? {}) as PgLikeError;
  const detail = e.message ?? String(error);
  switch (e.code) {
    case "28P01":
    case "28000":
      return new InvalidArgumentError(
        `Postgres authentication failed at ${target}: ${detail}. Check the user and password in the store URL.`,
        { param: "store", cause: error },
      );
    case "3D000":
      return new InvalidArgumentError(
        `Postgres database missing at ${target}: ${detail}. Create it (createdb) or fix the database name in the store URL.`,
        { param: "store", cause: error },
      );
    case "42501":
      return new InvalidArgumentError(
        `Postgres permission denied at ${target}: ${detail}. The user needs CREATE on the database (or an existing schema it owns).`,
        { param: "store", cause: error },
      );
  }
  if (isConnectionError(error)) {
    return new UnavailableError(
      `Postgres host unreachable at ${target}: ${detail}. Check the host and port in the store URL and that the server is running.`,
      { cause: error },
    );
  }
  return new HoldfastError("internal", `Postgres start-up failed at ${target}: ${detail}`, {
    param: "store",
    cause: error,
  });
}
