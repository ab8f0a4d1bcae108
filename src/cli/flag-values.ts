/**
 * Flag values and the words errors use for them. A user who typed `--at-seq` must read `--at-seq`
 * in the error, not the library option `atSeq` behind it: commands pass the library's names and
 * their flags, and `inFlagNames` rewrites what the library says (its errors and notes).
 */
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

/** The same error, worded in the command's flag names (its code, and so its exit code, kept). */
export function inFlagNames(error: unknown, names: FlagNames): unknown {
  if (!isHoldfastError(error)) return error;
  const message = inFlagTerms(error.message, names);
  if (message === error.message) return error;
  const flag = error.param === null ? undefined : names[error.param];
  const param = flag?.startsWith("--") ? flag.slice(2) : (error.param ?? undefined);
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
