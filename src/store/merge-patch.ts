import { InvalidArgumentError, isHoldfastError, versionConflict } from "./errors.ts";
import type { JsonObject, JsonValue, Session } from "./types.ts";
import { isPlainObject, setOwn } from "./validate.ts";

/**
 * JSON Merge Patch (RFC 7386). Returns a new value; neither input is mutated.
 * A non-object patch replaces the target; `null` members delete keys.
 */
export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: JsonObject = isPlainObject(target) ? { ...(target as JsonObject) } : {};
  for (const [key, value] of Object.entries(patch as JsonObject)) {
    if (value === null) delete result[key];
    // Own members only: `result[key]` of an absent `__proto__` or `constructor` is inherited.
    else setOwn(result, key, mergePatch(Object.hasOwn(result, key) ? (result[key] ?? null) : null, value));
  }
  return result;
}

/** One read of a session for a state merge: its version, its state, and whatever the writer needs. */
export interface StateRead<C> {
  version: number;
  state: JsonObject;
  context: C;
}

/**
 * Read-merge-write of a session's state with optimistic retries: reads, checks the caller's
 * expected version, merges `patch`, writes at the version read. Without a caller's expected
 * version a conflict means another writer got there first, so the merge is redone on a fresh
 * read (up to `maxRetries` times); with one, the conflict is the caller's to handle.
 */
export async function mergeStateWithRetry<C>(
  id: string,
  patch: JsonValue,
  expected: number | undefined,
  maxRetries: number,
  steps: {
    read: () => Promise<StateRead<C>>;
    write: (next: JsonObject, read: StateRead<C>) => Promise<Session>;
  },
): Promise<Session> {
  for (let attempt = 0; ; attempt++) {
    const current = await steps.read();
    if (expected !== undefined && current.version !== expected) {
      throw versionConflict(id, expected, current.version);
    }
    const next = mergePatch(current.state, patch);
    if (!isPlainObject(next)) {
      throw new InvalidArgumentError("A state patch must leave state a JSON object.", { param: "state" });
    }
    try {
      return await steps.write(next as JsonObject, current);
    } catch (error) {
      const retry = expected === undefined && isHoldfastError(error) && error.code === "conflict";
      if (!retry || attempt >= maxRetries) throw error;
    }
  }
}
