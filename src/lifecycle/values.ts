/**
 * Parsers for lifecycle settings: durations (`90m`, `7d`), sizes (`512kb`, `10GB`), fractions.
 * Each throws `invalid_argument` naming the setting at fault, so a bad config fails at startup.
 */
import { InvalidArgumentError } from "../store/errors.ts";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

function fail(name: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`${name} must be ${expected} (got ${JSON.stringify(value)}).`, {
    param: name,
  });
}

/** Milliseconds from a number (ms) or a string like `30s`, `90m`, `12h`, `7d`, `2w`. */
export function parseDurationMs(value: unknown, name: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value);
    if (m) {
      const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
      if (ms > 0 && Number.isSafeInteger(ms)) return ms;
    }
  }
  return fail(name, "a positive duration like 30s, 90m, 12h, 7d or a number of milliseconds", value);
}

/** Bytes from a number or a string like `512kb`, `10MB`, `2GiB`. */
export function parseSizeBytes(value: unknown, name: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
    if (m && unit !== undefined) {
      const n = Math.round(Number(m[1]) * unit);
      if (n > 0 && Number.isSafeInteger(n)) return n;
    }
  }
  return fail(name, "a positive size like 1048576, 512kb, 10MB or 2GiB", value);
}

/** A positive integer count. */
export function parseCount(value: unknown, name: string): number {
  const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && Number.isSafeInteger(n) && n > 0) return n;
  return fail(name, "a positive integer", value);
}

/** A fraction in (0, 1]. */
export function parseFraction(value: unknown, name: string): number {
  if (typeof value === "number" && value > 0 && value <= 1) return value;
  return fail(name, "a number greater than 0 and at most 1 (e.g. 0.9)", value);
}

/** An IANA time zone name that this runtime's Intl knows. */
export function parseTimeZone(value: unknown, name: string): string {
  if (typeof value === "string" && value.length > 0) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: value });
      return value;
    } catch {
      // reported below
    }
  }
  return fail(name, "an IANA time zone such as UTC or Europe/Paris", value);
}
