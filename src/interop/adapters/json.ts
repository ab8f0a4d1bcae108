/** JSON helpers shared by the framework adapters: lossless copies and order-insensitive equality. */
import { InvalidArgumentError } from "../../store/errors.ts";
import type { JsonObject, JsonValue } from "../../store/types.ts";

/**
 * A JSON copy of `value`: what the store would keep of it. `undefined` fields disappear, which is
 * what a JSON round trip does anyway; functions, symbols, bigints and cycles are rejected.
 */
export function toJson(value: unknown, param: string): JsonValue {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new InvalidArgumentError(`${param} must be JSON-serialisable (no cycles or bigints).`, {
      param,
      cause,
    });
  }
  if (text === undefined) throw new InvalidArgumentError(`${param} must be a JSON value.`, { param });
  return JSON.parse(text) as JsonValue;
}

/** Like {@link toJson} but requires a plain object. */
export function toJsonObject(value: unknown, param: string): JsonObject {
  const json = toJson(value, param);
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new InvalidArgumentError(`${param} must be an object.`, { param });
  }
  return json;
}

/** JSON with sorted keys, so two structurally equal values give the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Structural equality of two JSON values, ignoring key order and `undefined` fields. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
