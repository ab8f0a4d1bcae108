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
 * pg-pool's error when a checkout waited past `connectionTimeoutMillis` in its queue. The queue
 * holds a caller while the pool is full: every connection checked out, or some still opening.
 */
export function isCheckoutWait(error: unknown): boolean {
  return (error as PgLikeError | null)?.message === "timeout exceeded when trying to connect";
}

/**
 * Every pooled connection stayed busy for the whole checkout wait. Still `unavailable` (retrying
 * later can succeed), but the server answered all along: "could not connect" sent operators after
 * the network while the pool was too small for the load, or calls held their connections long.
 */
export class PoolExhaustedError extends UnavailableError {
  constructor(target: string, poolSize: number, waitedMs: number, cause: unknown) {
    super(
      `Postgres at ${target}: the connection pool is exhausted: all ${poolSize} connections (pool_size) stayed busy and this call waited ${waitedMs} ms (connect_timeout_ms) without getting one. The server is reachable; the load, or slow calls and lock waits, hold every connection. Raise pool_size in the store URL (mind the server's max_connections over all instances), or connect_timeout_ms to wait longer; retry shortly.`,
      { cause },
    );
  }
}

/** A statement stopped by a time limit: `statement_timeout` (57014), `lock_timeout` (55P03) or pg's `query_timeout`. */
function isTimeout(error: unknown): boolean {
  const e = (error ?? {}) as PgLikeError;
  return e.code === "57014" || e.code === "55P03" || e.message === "Query read timeout";
}

/**
 * The migration waited for the schema's advisory lock until a time limit stopped it: another
 * instance (or a session) held the lock, migrating the same schema, for longer than that.
 */
export class MigrationLockWaitError extends Error {
  readonly schema: string;
  constructor(schema: string, cause: unknown) {
    super(`Timed out waiting for the migration lock of schema '${schema}'`, { cause });
    this.name = new.target.name;
    this.schema = schema;
  }
}

/** Wraps a failure of the lock wait that is a timeout, so start-up says what it waited for. */
export function lockWaitError(error: unknown, schema: string): unknown {
  return isTimeout(error) ? new MigrationLockWaitError(schema, error) : error;
}

/**
 * Explains why the first connection failed: the host, the credentials or the database. Config
 * mistakes are `invalid_argument` (fix the URL); an unreachable server is `unavailable`.
 */
export function describeStartupError(
  error: unknown,
  target: string,
  statementTimeoutMs?: number,
): HoldfastError {
  if (isHoldfastError(error)) return error;
  const limit = statementTimeoutMs === undefined ? "" : ` (${statementTimeoutMs} ms)`;
  // Before the connection checks: a timeout is transient, yet "host unreachable" would send the
  // operator after the network while the server answered all along.
  if (error instanceof MigrationLockWaitError) {
    const cause = error.cause as PgLikeError | undefined;
    return new UnavailableError(
      `Postgres schema '${error.schema}' at ${target}: waited for another instance's schema migration (it holds the migration lock) until the statement timeout${limit} stopped the wait (${cause?.message ?? "timeout"}). Start again once that migration has finished; if migrations take longer, raise statement_timeout_ms in the store URL. The holder is the session with a granted advisory lock in pg_locks.`,
      { param: "store", cause: error },
    );
  }
  if (isTimeout(error)) {
    return new UnavailableError(
      `Postgres schema migration at ${target} was stopped by a time limit${limit}: ${(error as Error).message}. The server is reachable; a migration step ran longer than that (slow, or waiting on a lock another session holds on the schema). Raise statement_timeout_ms in the store URL, or end that session, and start again.`,
      { param: "store", cause: error },
    );
  }
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
