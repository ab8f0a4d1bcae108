/**
 * Options of the `postgres://` driver: validated once, with messages naming the option, then
 * frozen. A store URL may carry the schema (`?schema=x`) and the driver's own knobs
 * (`?pool_size=20&statement_timeout_ms=5000`); they are stripped before the URL reaches `pg`.
 */
import { InvalidArgumentError } from "../errors.ts";

/** Options of `createPostgresDriver`. */
export interface PostgresDriverOptions {
  /** `postgres://user:pass@host:port/db?schema=holdfast`; `postgresql://` is accepted too. */
  connectionString: string;
  /** Schema holding Holdfast's tables (created if missing). Default `holdfast`, or the URL's `schema`. */
  schema?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Server-side limit of one statement (`statement_timeout`), ms. Default 10,000. */
  statementTimeoutMs?: number;
  /** Client-side limit of one call, ms: covers a dead network the server never answers. Default statement + 2,000. */
  queryTimeoutMs?: number;
  /** Limit on opening a connection or waiting for a free one, ms. Default 5,000. */
  connectTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. Default `holdfast`. */
  applicationName?: string;
  /** Called when an idle pooled connection fails (the pool drops it and reconnects on demand). */
  onIdleError?: (error: Error) => void;
}

export type ResolvedPostgresOptions = Readonly<Required<Omit<PostgresDriverOptions, "onIdleError">>> & {
  readonly onIdleError: (error: Error) => void;
  /** The connection string as `pg` gets it (driver parameters removed). */
  readonly pgConnectionString: string;
  /** `host:port/db`, for messages (never the password). */
  readonly target: string;
};

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const URL_PARAMS = {
  schema: "schema",
  pool_size: "poolSize",
  statement_timeout_ms: "statementTimeoutMs",
  query_timeout_ms: "queryTimeoutMs",
  connect_timeout_ms: "connectTimeoutMs",
  application_name: "applicationName",
} as const;

function invalid(option: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`Postgres store option '${option}': ${message}`, { param: "store" });
}

function positiveInt(value: unknown, option: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw invalid(option, `must be an integer from 1 to ${max}, got ${JSON.stringify(value)}.`);
  }
  return n;
}

/** Validates options (URL parameters fill what the object leaves out) and freezes the result. */
export function resolvePostgresOptions(options: PostgresDriverOptions): ResolvedPostgresOptions {
  if (typeof options?.connectionString !== "string") {
    throw invalid("connectionString", "a 'postgres://user@host:port/database' URL is required.");
  }
  let url: URL;
  try {
    url = new URL(options.connectionString);
  } catch {
    throw invalid("connectionString", "not a URL; expected 'postgres://user@host:port/database'.");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw invalid("connectionString", `scheme '${url.protocol}' is not postgres: or postgresql:.`);
  }
  const fromUrl: Record<string, string> = {};
  for (const [param, option] of Object.entries(URL_PARAMS)) {
    const value = url.searchParams.get(param);
    if (value !== null) fromUrl[option] = value;
    url.searchParams.delete(param);
  }
  const pick = <K extends keyof PostgresDriverOptions>(
    key: K,
  ): PostgresDriverOptions[K] | string | undefined => options[key] ?? fromUrl[key];
  const schema = String(pick("schema") ?? "holdfast");
  if (!SCHEMA_PATTERN.test(schema)) {
    throw invalid(
      "schema",
      `'${schema}' must be lowercase letters, digits and '_' (max 63), not starting with a digit.`,
    );
  }
  const statementTimeoutMs = positiveInt(pick("statementTimeoutMs"), "statementTimeoutMs", 10_000, 3_600_000);
  const applicationName = String(pick("applicationName") ?? "holdfast");
  if (applicationName.length > 63) throw invalid("applicationName", "at most 63 characters.");
  const onIdleError = options.onIdleError ?? (() => {});
  if (typeof onIdleError !== "function") throw invalid("onIdleError", "must be a function.");
  return Object.freeze({
    connectionString: options.connectionString,
    schema,
    poolSize: positiveInt(pick("poolSize"), "poolSize", 10, 1000),
    statementTimeoutMs,
    queryTimeoutMs: positiveInt(
      pick("queryTimeoutMs"),
      "queryTimeoutMs",
      statementTimeoutMs + 2_000,
      3_600_000,
    ),
    connectTimeoutMs: positiveInt(pick("connectTimeoutMs"), "connectTimeoutMs", 5_000, 600_000),
    applicationName,
    onIdleError,
    pgConnectionString: url.toString(),
    target: `${url.hostname || "localhost"}:${url.port || "5432"}${url.pathname || "/"}`,
  });
}
