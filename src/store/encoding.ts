/**
 * Encodings the store core hands out or hashes: list cursors (opaque to callers) and the
 * canonical JSON that idempotency payload hashes are computed over.
 */
import { InvalidArgumentError } from "./errors.ts";
import { SESSION_ID_PATTERN } from "./ids.ts";
import { sortValue } from "./list-sort.ts";
import type { ListSort, Session } from "./types.ts";

/** A list position: the keyset (sort value, id), and for the changing sorts the paging run's start. */
export interface CursorPosition {
  value: number;
  id: string;
  /** When the run's first page was read (epoch ms); absent for `created` and older cursors. */
  asOf?: number;
}

/**
 * `[value, id]` for the default `created` sort (the format cursors always had, so old ones
 * keep working), `[value, id, sort, asOf]` for the others: a cursor only continues the sort it
 * came from, and carries when its run began (see `driverListQuery`).
 */
export function encodeCursor(session: Session, sort: ListSort = "created", asOf?: number): string {
  const key =
    sort === "created"
      ? [session.createdAt, session.id]
      : [sortValue(session, sort), session.id, sort, ...(asOf === undefined ? [] : [asOf])];
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/**
 * The position a cursor holds. Only what `encodeCursor` can produce passes: sort values are
 * non-negative safe integers (milliseconds, counts, bytes) and ids match the session-id pattern.
 * Anything else (1e308, 1.5, -1, an id with a NUL) is the same 400 as garbage: Postgres cannot
 * bind such a value as a bigint or text, which made a forged cursor a 500 there.
 */
export function decodeCursor(cursor: string, sort: ListSort = "created"): CursorPosition {
  let parsed: unknown[] | null = null;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
  } catch {
    // fall through to the error below
  }
  if (
    Array.isArray(parsed) &&
    Number.isSafeInteger(parsed[0]) &&
    (parsed[0] as number) >= 0 &&
    typeof parsed[1] === "string" &&
    SESSION_ID_PATTERN.test(parsed[1]) &&
    (parsed[3] === undefined || (Number.isSafeInteger(parsed[3]) && (parsed[3] as number) >= 0))
  ) {
    const from = parsed[2] ?? "created";
    if (from === sort) {
      const position: CursorPosition = { value: parsed[0] as number, id: parsed[1] };
      if (parsed[3] !== undefined) position.asOf = parsed[3] as number;
      return position;
    }
    throw new InvalidArgumentError(
      `The cursor continues a list sorted by '${String(from).slice(0, 16)}', not '${sort}'; start from the first page.`,
      { param: "cursor" },
    );
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
