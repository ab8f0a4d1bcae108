/**
 * Flag values and the words errors use for them. A user who typed `--at-seq` must read `--at-seq`
 * in the error, not the library option `atSeq` behind it: commands pass the library's names and
 * their flags, and `inFlagNames` rewrites what the library says (its errors and notes).
 */
import type { Command } from "commander";
import { HoldfastError, InvalidArgumentError, isHoldfastError } from "../store/errors.ts";

/** Library option (or phrase) → the flag a user types, e.g. `{ atSeq: "--at-seq" }`. */
export type FlagNames = Readonly<Record<string, string>>;

/** A whole number from `min` to `max` (default: any), in plain digits (no `1e3`, `0x10` or `1.5`). */
export function intFlag(value: string, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? `a whole number of at least ${min}`
        : `an integer from ${min} to ${max}`;
    throw new InvalidArgumentError(`${name} must be ${range} (got '${value}').`, {
      param: name.replace(/^--/, ""),
    });
  }
  return n;
}

/** `2026-11-21`, or `2026-11-21T10:00[:00[.123]]` with `Z` or an offset such as `+02:00`. */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/** Epoch milliseconds: all digits, at least 10 (so `5` or `2026` is never taken for an instant). */
const EPOCH_MS = /^\d{10,16}$/;

/**
 * An instant (`--now`): an ISO 8601 timestamp with a date part and, when it has a time, a zone
 * (`2026-11-21T10:00:00Z`, `2026-11-21T12:00:00+02:00`), a date alone (UTC midnight), or epoch
 * milliseconds (`1795255200000`). Loose strings `Date` would guess at (`5`, `Nov 21`, `2026-02-30`)
 * are refused.
 */
export function instantFlag(value: string, name: string): Date {
  const text = value.trim();
  let date: Date | null = null;
  if (EPOCH_MS.test(text)) date = new Date(Number(text));
  else {
    const m = ISO_INSTANT.exec(text);
    if (m) {
      const [year, month, day, hour = 0, minute = 0, second = 0, offH = 0, offM = 0] = m
        .slice(1)
        .map((part) => (part === undefined ? undefined : Number(part)));
      const calendar = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 1));
      const real =
        calendar.getUTCFullYear() === year &&
        calendar.getUTCMonth() + 1 === month &&
        calendar.getUTCDate() === day &&
        hour <= 23 &&
        minute <= 59 &&
        second <= 59 &&
        offH <= 23 &&
        offM <= 59;
      if (real) date = new Date(text);
    }
  }
  if (date === null || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(
      `${name} must be an ISO 8601 timestamp such as 2026-11-21T10:00:00Z (a time needs Z or an offset like +02:00), a date such as 2026-11-21, or epoch milliseconds such as 1795255200000 (got '${value}').`,
      { param: name.replace(/^--/, "") },
    );
  }
  return date;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `text` with every library name of `names` (as a whole word) replaced by its flag. */
export function inFlagTerms(text: string, names: FlagNames): string {
  let out = text;
  for (const [option, flag] of Object.entries(names)) {
    out = out.replace(new RegExp(`(?<![\\w-])${escapeRegExp(option)}(?![\\w-])`, "g"), flag);
  }
  return out;
}

/** How `inFlagNames` rewords beyond the names: `dropPrefix` removes a library's own lead-in. */
export interface RewordOptions {
  /** Removed from the start of the message, e.g. /^Mock upstream options? / (the flag then leads). */
  dropPrefix?: RegExp;
}

/** The same error, worded in the command's flag names (its code, and so its exit code, kept). */
export function inFlagNames(error: unknown, names: FlagNames, options: RewordOptions = {}): unknown {
  if (!isHoldfastError(error)) return error;
  const worded = inFlagTerms(error.message, names);
  const message = options.dropPrefix ? worded.replace(options.dropPrefix, "") : worded;
  if (message === error.message) return error;
  const flag = error.param === null ? undefined : names[error.param];
  const param = flag?.startsWith("--") ? flag.slice(2) : (error.param ?? undefined);
  return withMessage(error, message, param);
}

/** `error` with another message: its code (and so its exit code), param and retry hint kept. */
export function withMessage(
  error: HoldfastError,
  message: string,
  param: string | undefined = error.param ?? undefined,
): HoldfastError {
  return new HoldfastError(error.code, message, {
    cause: error,
    ...(param === undefined ? {} : { param }),
    ...(error.retryAfterSeconds === null ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  });
}

/** Runs `run`; whatever it throws is reworded by `inFlagNames`. */
export async function withFlagNames<T>(names: FlagNames, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw inFlagNames(error, names);
  }
}

function shownValue(value: unknown): string {
  return value === undefined || value === null ? "no value" : `'${String(value)}'`;
}

/**
 * On `command` and every subcommand under it: a single-value option given twice with different
 * values (`keys create --tenant a --tenant b`) is a usage error (exit 2) naming it, where commander
 * would silently keep the last. The same value twice passes; so do repeatable options (variadic,
 * or collecting into an array default, as `migrate --tenant`). Call once every command is made.
 */
export function refuseRepeatedFlags(command: Command): void {
  const given = new Map<string, unknown>();
  for (const option of command.options) {
    if (option.variadic || Array.isArray(option.defaultValue)) continue;
    const name = option.name();
    // Commander emits this for each occurrence on the command line (not for an env value), with
    // the text as typed, after its own listener stored it.
    command.on(`option:${name}`, (value: unknown) => {
      if (given.has(name) && given.get(name) !== value) {
        command.error(
          `error: option '${option.flags}' was given twice with different values (${shownValue(given.get(name))}, then ${shownValue(value)}); give it once`,
          { exitCode: 2, code: "holdfast.repeatedOption" },
        );
      }
      given.set(name, value);
    });
  }
  for (const sub of command.commands) refuseRepeatedFlags(sub);
}
