/**
 * Readers for single values of the providers config: each checks one value's shape and, when it
 * is wrong, throws an InvalidArgumentError whose message and `param` name the field to fix.
 */
import { InvalidArgumentError } from "../../store/errors.ts";

export function failConfig(param: string, what: string): never {
  throw new InvalidArgumentError(`Invalid configuration: ${param} ${what}.`, { param });
}

/**
 * `value` as an object; with `keys`, a key outside them fails naming it and the known ones: any
 * other key is a typo (`baseURL`, `weigth`) that would otherwise be dropped without a word and
 * leave the default in place, e.g. requests sent to api.openai.com.
 */
export function readObject(value: unknown, where: string, keys?: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    failConfig(where, "must be an object");
  const unknown = keys ? Object.keys(value).find((key) => !keys.includes(key)) : undefined;
  if (keys && unknown !== undefined)
    failConfig(`${where}.${unknown}`, `is not a known setting; use ${keys.join(", ")}`);
  return value as Record<string, unknown>;
}

export function readArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) failConfig(where, "must be an array");
  return value;
}

export function readString(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") failConfig(where, "must be a non-empty string");
  return value;
}

export function readPositiveInt(value: unknown, where: string): number {
  if (!Number.isInteger(value) || (value as number) <= 0)
    failConfig(where, `must be a positive integer; got ${JSON.stringify(value)}`);
  return value as number;
}

export function readNonNegative(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    failConfig(where, `must be a number >= 0; got ${JSON.stringify(value)}`);
  return value;
}
