/**
 * Input validation shared by every driver. Messages name the field and say what to fix.
 * Limits follow OpenAI's where it has them (metadata: 16 pairs, keys ≤ 64, values ≤ 512 chars).
 */
import { InvalidArgumentError, PayloadTooLargeError } from "./errors.ts";
import { ITEM_ID_PATTERN, SESSION_ID_PATTERN } from "./ids.ts";
import { type JsonObject, type JsonValue, SESSION_STATUSES, type SessionStatus } from "./types.ts";

export const LIMITS = Object.freeze({
  metadataPairs: 16,
  metadataKeyChars: 64,
  metadataValueChars: 512,
  labels: 32,
  labelChars: 64,
  ownerChars: 256,
  itemsPerAppend: 1000,
  /**
   * Largest token count of one item (2^31 - 1). Bounded so a session's token total, summed by
   * every driver, stays an exact JavaScript number: SQLite refuses to read back a total past
   * 2^53, which made the session and its tenant's lists unreadable.
   */
  itemTokens: 2 ** 31 - 1,
  jsonDepth: 64,
  excludeTypes: 16,
  /**
   * The largest item a store accepts by default (serialized JSON bytes of its content, id left
   * out): `StoreCoreOptions.maxItemBytes`'s default, which callers check against before writing.
   */
  itemBytes: 1 << 20,
  /** The largest session state a store accepts by default (serialized JSON bytes): `maxStateBytes`'s default. */
  stateBytes: 1 << 20,
});

const TENANT_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const LABEL_PATTERN = /^[\p{L}\p{N}_.:/@+=-]+$/u;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws unless `value` is a plain object; unlike `isPlainObject` it keeps the caller's static type. */
export function assertObject(value: unknown, what: string): void {
  if (!isPlainObject(value)) throw new InvalidArgumentError(`${what} must be an object.`);
}

export function checkTenant(tenant: unknown): string {
  if (typeof tenant !== "string" || !TENANT_PATTERN.test(tenant)) {
    throw new InvalidArgumentError(
      "Tenant must be 1-64 characters of letters, digits, '_', '.', ':' or '-'.",
      {
        param: "tenant",
      },
    );
  }
  return tenant;
}

export function checkSessionId(id: unknown, param = "session_id"): string {
  if (typeof id !== "string" || !SESSION_ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(
      `Invalid session id ${JSON.stringify(String(id)).slice(0, 80)}: expected 'conv_' followed by 8-96 letters, digits, '_' or '-'.`,
      { param },
    );
  }
  return id;
}

export function checkItemId(id: unknown, param = "item_id"): string {
  if (typeof id !== "string" || !ITEM_ID_PATTERN.test(id)) {
    throw new InvalidArgumentError("Item ids are 1-128 letters, digits, '_' or '-'.", { param });
  }
  return id;
}

/** Item types a window leaves out: up to 16 distinct non-empty strings of ≤ 64 characters. */
export function checkExcludeTypes(value: unknown, param = "exclude_types"): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > LIMITS.excludeTypes) {
    throw new InvalidArgumentError(
      `${param} must be an array of at most ${LIMITS.excludeTypes} item types.`,
      {
        param,
      },
    );
  }
  for (const type of value) {
    if (typeof type !== "string" || type.length === 0 || type.length > 64) {
      throw new InvalidArgumentError(
        `${param} holds item types: non-empty strings of at most 64 characters.`,
        {
          param,
        },
      );
    }
    checkStorableText(type, param);
  }
  return [...new Set(value as string[])];
}

export function checkMetadata(metadata: unknown, param = "metadata"): Record<string, string> {
  if (!isPlainObject(metadata))
    throw new InvalidArgumentError("Metadata must be an object of strings.", { param });
  const entries = Object.entries(metadata);
  if (entries.length > LIMITS.metadataPairs) {
    throw new InvalidArgumentError(
      `Metadata has ${entries.length} pairs; at most ${LIMITS.metadataPairs} are allowed.`,
      { param },
    );
  }
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > LIMITS.metadataKeyChars) {
      throw new InvalidArgumentError(`Metadata keys must be 1-${LIMITS.metadataKeyChars} characters.`, {
        param: `${param}.${key.slice(0, 64)}`,
      });
    }
    if (typeof value !== "string" || value.length > LIMITS.metadataValueChars) {
      throw new InvalidArgumentError(
        `Metadata value for '${key}' must be a string of at most ${LIMITS.metadataValueChars} characters.`,
        { param: `${param}.${key}` },
      );
    }
    setOwn(out, key, value);
  }
  return out;
}

/**
 * `target[key] = value` that keeps `__proto__` an ordinary own key: plain assignment would call
 * the prototype setter instead, silently dropping the pair (or re-parenting the object).
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}

/**
 * True for text every driver stores and gives back unchanged in a plain text column: no NUL
 * (Postgres `text` refuses it) and no lone surrogate (SQLite and Postgres store UTF-8, which
 * turns one into U+FFFD). JSON columns escape both, so content, state and metadata may hold them.
 */
export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}

/** `value` unless it holds what `isStorableText` refuses; the message names `param`. */
export function checkStorableText(value: string, param: string): string {
  if (!isStorableText(value)) {
    throw new InvalidArgumentError(`${param} must not contain NUL characters or unpaired surrogates.`, {
      param,
    });
  }
  return value;
}

export function checkLabels(labels: unknown, param = "labels"): string[] {
  if (!Array.isArray(labels))
    throw new InvalidArgumentError("Labels must be an array of strings.", { param });
  if (labels.length > LIMITS.labels) {
    throw new InvalidArgumentError(`At most ${LIMITS.labels} labels are allowed.`, { param });
  }
  for (const label of labels) {
    if (typeof label !== "string" || label.length > LIMITS.labelChars || !LABEL_PATTERN.test(label)) {
      throw new InvalidArgumentError(
        `Labels are 1-${LIMITS.labelChars} letters, digits or _ . : / @ + = - (got ${JSON.stringify(label)?.slice(0, 80)}).`,
        { param },
      );
    }
  }
  return [...new Set(labels as string[])];
}

export function checkOwner(owner: unknown): string | null {
  if (owner === null || owner === undefined) return null;
  if (typeof owner !== "string" || owner.length === 0 || owner.length > LIMITS.ownerChars) {
    throw new InvalidArgumentError(`Owner must be a string of 1-${LIMITS.ownerChars} characters.`, {
      param: "owner",
    });
  }
  return checkStorableText(owner, "owner");
}

export function checkStatus(status: unknown): SessionStatus {
  if (!SESSION_STATUSES.includes(status as SessionStatus)) {
    throw new InvalidArgumentError(`Status must be one of ${SESSION_STATUSES.join(", ")}.`, {
      param: "status",
    });
  }
  return status as SessionStatus;
}

export function checkOptionalTime(value: unknown, param: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${param} must be a positive integer number of milliseconds.`, { param });
  }
  return value;
}

/**
 * A new session's `expiresAt`: none, or a time after `now`. An expiry already reached would hide
 * the session the moment it is created — the caller would get a success and then `not_found` —
 * so it is refused. (An update may still set a past expiry: that expires the session at once.)
 */
export function checkFutureExpiry(value: unknown, now: number): number | null {
  const expiresAt = checkOptionalTime(value, "expiresAt");
  if (expiresAt !== null && expiresAt <= now) {
    throw new InvalidArgumentError(
      `expires_at (${new Date(expiresAt).toISOString()}) is not in the future (now ${new Date(now).toISOString()}); ` +
        "a new session's expiry must be later than now, or null for none.",
      { param: "expires_at" },
    );
  }
  return expiresAt;
}

export function checkPositiveInt(value: unknown, param: string, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`${param} must be an integer from 1 to ${max}.`, { param });
  }
  return value;
}

export function checkVersion(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError("expectedVersion must be a non-negative integer.", {
      param: "expected_version",
    });
  }
  return value;
}

export function checkSeq(value: unknown, param: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${param} must be a non-negative integer.`, { param });
  }
  return value;
}

/** Rejects values that are not plain JSON (functions, NaN, cycles) or nest deeper than the limit. */
export function checkJson(value: unknown, param: string, depth = 0): JsonValue {
  if (depth > LIMITS.jsonDepth) {
    throw new InvalidArgumentError(`${param} nests deeper than ${LIMITS.jsonDepth} levels.`, { param });
  }
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new InvalidArgumentError(`${param} contains a non-finite number.`, { param });
    return value;
  }
  if (Array.isArray(value)) {
    for (const entry of value) checkJson(entry, param, depth + 1);
    return value as JsonValue;
  }
  if (isPlainObject(value)) {
    for (const entry of Object.values(value)) checkJson(entry, param, depth + 1);
    return value as JsonObject;
  }
  throw new InvalidArgumentError(`${param} must be plain JSON (got ${typeof value}).`, { param });
}

export function checkJsonObject(value: unknown, param: string): JsonObject {
  if (!isPlainObject(value)) throw new InvalidArgumentError(`${param} must be a JSON object.`, { param });
  return checkJson(value, param) as JsonObject;
}

export function checkSize(bytes: number, max: number, what: string, param: string): void {
  if (bytes > max) {
    throw new PayloadTooLargeError(`${what} is ${bytes} bytes; the limit is ${max} bytes.`, { param });
  }
}
