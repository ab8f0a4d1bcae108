import type { JsonObject, JsonValue } from "./types.ts";
import { isPlainObject } from "./validate.ts";

/**
 * JSON Merge Patch (RFC 7386). Returns a new value; neither input is mutated.
 * A non-object patch replaces the target; `null` members delete keys.
 */
export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: JsonObject = isPlainObject(target) ? { ...(target as JsonObject) } : {};
  for (const [key, value] of Object.entries(patch as JsonObject)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}
