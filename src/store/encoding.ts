/**
 * Encodings the store core hands out or hashes: list cursors (opaque to callers) and the
 * canonical JSON that idempotency payload hashes are computed over.
 */
import { InvalidArgumentError } from "./errors.ts";
import type { Session } from "./types.ts";

export function encodeCursor(session: Session): string {
  return Buffer.from(JSON.stringify([session.createdAt, session.id])).toString("base64url");
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof createdAt === "number" && typeof id === "string") return { createdAt, id };
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError("The cursor is not one this store returned; start from the first page.", {
    param: "cursor",
  });
}

/**
 * Stable JSON: keys sorted, so a retried payload hashes the same whatever its key order. The
 * output is part of the stored idempotency records, so it must not change: `undefined` values
 * become `null`, exactly as the first version (map/join) produced. Keys already in order, the
 * usual case, skip the sort.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${out}]`;
  }
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    out += `${i === 0 ? "" : ","}${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`;
  }
  return `${out}}`;
}
