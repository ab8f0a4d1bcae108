/**
 * Fast redaction for pino. pino's `redact` is cheap for exact paths but slow for wildcards
 * (measured: the 81 REDACT_PATHS cost ~30 µs per log line with an object, the exact ones alone
 * ~2 µs), so the paths are split: exact paths stay with pino, and every wildcard path becomes a
 * key name scrubbed at any depth of plain objects by a `formatters.log` hook — stricter than the
 * wildcard (any depth, not one or two levels) and allocation-free when nothing matches.
 */
import { REDACTED } from "../security/redact.ts";

/** Nesting below this depth is replaced wholesale: deep structures in logs are content, not metadata. */
const MAX_DEPTH = 8;

export interface SplitRedaction {
  /** Paths without wildcards, for pino's `redact.paths`. */
  exactPaths: string[];
  /** Lower-cased key names redacted wherever they appear. */
  keys: ReadonlySet<string>;
}

/** The last segment of a path: `*.body.content` → `content`, `headers["x-api-key"]` → `x-api-key`. */
function lastKey(path: string): string {
  const bracket = /\[["']([^"']+)["']\]$/.exec(path);
  if (bracket) return bracket[1] as string;
  const parts = path.replace(/\[\*\]/g, "").split(".");
  return parts[parts.length - 1] as string;
}

/** Splits redaction paths into exact paths (pino) and scrubbed key names (wildcard paths). */
export function splitRedactPaths(paths: readonly string[]): SplitRedaction {
  const exactPaths: string[] = [];
  const keys = new Set<string>();
  for (const path of paths) {
    if (path.includes("*")) keys.add(lastKey(path).toLowerCase());
    else exactPaths.push(path);
  }
  return { exactPaths, keys };
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/**
 * A copy of `value` with every property named in `keys` replaced by the censor; unchanged
 * subtrees are shared, `value` is never mutated. Class instances (errors, requests) are left to
 * pino's serializers and exact paths.
 */
export function scrub(value: unknown, keys: ReadonlySet<string>, depth = 0): unknown {
  if (value === null || typeof value !== "object" || !isPlain(value)) return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = scrub(value[i], keys, depth + 1);
      if (next !== value[i]) {
        out ??= value.slice();
        out[i] = next;
      }
    }
    return out ?? value;
  }
  const record = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const current = record[key];
    const next = keys.has(key.toLowerCase()) ? REDACTED : scrub(current, keys, depth + 1);
    if (next !== current) {
      out ??= { ...record };
      out[key] = next;
    }
  }
  return out ?? value;
}

/**
 * Credentials a message can echo: Holdfast keys and refresh tokens, provider keys, bearer and
 * basic credentials, JWTs, URL user-info and secret-looking query parameters. Errors quote them
 * (an upstream's "Incorrect API key provided: sk-…", a driver's connection string), so their
 * text is passed through this before it is written.
 */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\b(Bearer|Basic)[ \t]+[^\s"',;]+/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b(hfr?_|sk-|sk_|rk_|pk_|xai-|gsk_|AIza)[A-Za-z0-9_.-]{8,}/g, `$1${REDACTED}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi, `$1${REDACTED}@`],
  [
    /\b((?:api[_-]?key|access[_-]?token|refresh[_-]?token|token|secret|password|passwd)["']?\s*[=:]\s*["']?)[^\s&"',;]+/gi,
    `$1${REDACTED}`,
  ],
];

/** `text` with every credential-shaped substring replaced by the censor. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Every string of a plain value passed through `redactSecrets` (keys in `keys` censored), to `MAX_DEPTH`. */
export function redactStrings(value: unknown, keys: ReadonlySet<string>, depth = 0): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, keys, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = keys.has(key.toLowerCase()) ? REDACTED : redactStrings(v, keys, depth + 1);
  }
  return out;
}
