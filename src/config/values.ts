/**
 * Parsers for option values from any source (flag, environment, config file). Each takes the
 * name the user wrote (`--port`, `HOLDFAST_PORT`, `server.port in ./holdfast.yaml`) so every
 * message says exactly which setting to fix.
 */
import { isIP } from "node:net";
import { InvalidArgumentError } from "../store/errors.ts";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1_000_000,
  mib: 1 << 20,
  gb: 1e9,
  gib: 1 << 30,
};

function fail(name: string, what: string, value: unknown, param: string): never {
  const shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  throw new InvalidArgumentError(`${name} must be ${what} (got ${shown}).`, { param });
}

export function parsePort(value: unknown, name: string): number {
  const n = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) {
    fail(name, "a port number from 0 to 65535", value, "port");
  }
  return n;
}

export function parseHost(value: unknown, name: string): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9.:_%[\]-]{1,255}$/.test(value)) {
    fail(name, "a host name or IP address such as 127.0.0.1, ::1 or 0.0.0.0", value, "host");
  }
  return value;
}

/**
 * Characters that print as nothing or as a line break: C0 and C1 controls and DEL (\p{Cc}), format
 * characters such as bidi overrides and zero-width spaces (\p{Cf}), lone surrogates (\p{Cs}) and
 * the line and paragraph separators (\p{Zl}, \p{Zp}).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * What is wrong with a setting that holds such a character, or null. `holdfast serve` prints the
 * store URL and the identity providers' issuers on its "listening" line: a line break there would
 * forge a second "holdfast listening on …" line for the scripts that wait for one, and a bidi
 * override would show the operator another value. None belongs in a URL, an issuer or a name. The
 * character is named by code point, never echoed.
 */
export function unprintableProblem(value: string): string | null {
  const match = UNPRINTABLE.exec(value);
  if (!match) return null;
  const code = (match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  return `must not contain control or other non-printable characters (found U+${code} at character ${match.index + 1})`;
}

export function parseStoreUrl(value: unknown, name: string): string {
  // First: the message for a value that is no URL at all would echo it.
  const problem = typeof value === "string" ? unprintableProblem(value) : null;
  if (problem) throw new InvalidArgumentError(`${name} ${problem}.`, { param: "store" });
  if (typeof value !== "string" || !/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    fail(
      name,
      "a store URL such as sqlite:./data/holdfast.db, memory:, redis://… or postgres://…",
      value,
      "store",
    );
  }
  return value;
}

/** Bytes as an integer or with a unit: `1048576`, `512kb`, `1mb`, `2MiB`. */
export function parseBytes(value: unknown, name: string, min: number, max: number): number {
  let n: number | undefined;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
    if (match && unit !== undefined) n = Math.round(Number(match[1]) * unit);
  }
  if (n === undefined || !Number.isSafeInteger(n) || n < min || n > max) {
    fail(name, `a size from ${min} to ${max} bytes (e.g. 1048576, 512kb, 1mb)`, value, "body_limit");
  }
  return n;
}

/** What Fastify's `trustProxy` takes: off, every hop, a hop count, or trusted addresses (comma-separated). */
export type TrustProxy = boolean | number | string;

const PROXY_NAMES = ["loopback", "linklocal", "uniquelocal"];

function trustedAddress(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  return bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

/**
 * Which proxies' `X-Forwarded-For` (and `-Proto`, `-Host`) to believe: `true`/`false`, a hop
 * count (`1`: the nearest proxy), or addresses and CIDRs such as `10.0.0.0/8, ::1` (also
 * `loopback`, `linklocal`, `uniquelocal`), as Fastify's `trustProxy`. A list comes back as one
 * comma-separated string.
 */
export function parseTrustProxy(value: unknown, name: string): TrustProxy {
  const what =
    "true, false, a hop count (1, 2, …) or a comma-separated list of proxy addresses/CIDRs such as 10.0.0.0/8, ::1 or loopback";
  if (typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 1 || value > 255) fail(name, what, value, "trust_proxy");
    return value;
  }
  const entries = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : null;
  if (entries === null) fail(name, what, value, "trust_proxy");
  const list = entries.map((entry) => (typeof entry === "string" ? entry.trim() : ""));
  if (list.length === 1) {
    const one = list[0]!.toLowerCase();
    if (one === "true") return true;
    if (one === "false") return false;
    if (/^\d+$/.test(one)) return parseTrustProxy(Number(one), name);
  }
  if (list.length === 0 || !list.every(trustedAddress)) fail(name, what, value, "trust_proxy");
  return list.join(",");
}

export function parseLogLevel(value: unknown, name: string): LogLevel {
  if (!LOG_LEVELS.includes(value as LogLevel))
    fail(name, `one of ${LOG_LEVELS.join(", ")}`, value, "log_level");
  return value as LogLevel;
}

/**
 * A store URL fit for logs: passwords in `user:pass@` and `password=`/`key=`-style query
 * parameters are replaced by `***`.
 */
export function redactStoreUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, "$1:***@")
    .replace(/([?&](?:password|pass|pwd|secret|token|key|auth)[^=&]*=)[^&#]*/gi, "$1***");
}
