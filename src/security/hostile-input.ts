/**
 * Hostile-input checks the server reuses before any work: raw JSON nesting depth (checked on the
 * bytes, before JSON.parse), parsed JSON depth, header count and sizes, and id formats (re-exported
 * from the store's validators, not duplicated). All throw typed errors with stable codes.
 */
import { HoldfastError, InvalidArgumentError, PayloadTooLargeError } from "../store/errors.ts";
import { LIMITS } from "../store/validate.ts";

export { checkItemId, checkJson, checkSessionId, checkTenant, LIMITS } from "../store/validate.ts";

/** Defaults the server should apply (Fastify `bodyLimit`, Node `maxHeaderSize`, timeouts). */
export const INPUT_LIMITS = Object.freeze({
  /** Largest request body. */
  bodyBytes: 8 << 20,
  /** Deepest JSON nesting (the store's own limit). */
  jsonDepth: LIMITS.jsonDepth,
  /** Most header fields. */
  headerCount: 100,
  /** Largest single header value. */
  headerValueBytes: 8192,
  /** All header names + values. */
  headerBytes: 16_384,
  /** A body must finish arriving within this time (slow-body / slowloris defence). */
  bodyTimeoutMs: 10_000,
  /** Longest `Idempotency-Key`. */
  idempotencyKeyChars: 255,
});

/** Headers too many or too large: HTTP 431. */
export class HeaderTooLargeError extends HoldfastError {
  constructor(message: string) {
    super("headers_too_large", message);
  }
}

/**
 * Rejects JSON text nesting deeper than `maxDepth` without parsing it (so a 1 MB `[[[[…` costs a
 * linear scan, not a parser stack). Brackets inside strings are ignored.
 */
export function checkRawJsonDepth(text: string | Buffer, maxDepth: number = INPUT_LIMITS.jsonDepth): void {
  const s = typeof text === "string" ? text : text.toString("utf8");
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw new InvalidArgumentError(`The JSON body nests deeper than ${maxDepth} levels.`, {
          param: "body",
        });
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** Rejects a parsed value nesting deeper than `maxDepth` (iterative: no recursion on hostile input). */
export function checkJsonDepth(
  value: unknown,
  maxDepth: number = INPUT_LIMITS.jsonDepth,
  param = "body",
): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== "object" || node === null) continue;
    if (depth >= maxDepth) {
      throw new InvalidArgumentError(`${param} nests deeper than ${maxDepth} levels.`, { param });
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
}

/** Rejects requests with too many or too large headers (Node's `IncomingHttpHeaders` shape). */
export function checkHeaders(
  headers: Record<string, string | string[] | undefined>,
  limits: Partial<Pick<typeof INPUT_LIMITS, "headerCount" | "headerValueBytes" | "headerBytes">> = {},
): void {
  const maxCount = limits.headerCount ?? INPUT_LIMITS.headerCount;
  const maxValue = limits.headerValueBytes ?? INPUT_LIMITS.headerValueBytes;
  const maxTotal = limits.headerBytes ?? INPUT_LIMITS.headerBytes;
  let count = 0;
  let total = 0;
  for (const [name, raw] of Object.entries(headers)) {
    for (const value of Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) {
      count++;
      const bytes = Buffer.byteLength(value);
      if (bytes > maxValue) {
        throw new HeaderTooLargeError(
          `Header '${name.slice(0, 64)}' is ${bytes} bytes; the limit is ${maxValue}.`,
        );
      }
      total += bytes + name.length;
    }
  }
  if (count > maxCount) throw new HeaderTooLargeError(`${count} headers sent; the limit is ${maxCount}.`);
  if (total > maxTotal)
    throw new HeaderTooLargeError(`Headers total ${total} bytes; the limit is ${maxTotal}.`);
}

/** An `Idempotency-Key` header value: 1-255 printable ASCII characters. */
export function checkIdempotencyKey(value: unknown): string {
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw new InvalidArgumentError("Idempotency-Key must be 1-255 printable ASCII characters.", {
      param: "idempotency_key",
    });
  }
  return value;
}

/**
 * Rejects C0 control characters and DEL in a string that names something (an owner, a call id)
 * and becomes a database column: none belongs in a name, and Postgres cannot store NUL at all
 * (a 500 after a session was created, not a 400 before anything was written).
 */
export function checkNoControlChars(value: string, param: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      throw new InvalidArgumentError(
        `${param} must not contain control characters (U+0000-U+001F, U+007F).`,
        {
          param,
        },
      );
    }
  }
  return value;
}

/** Rejects a body larger than `max` bytes (for streams read by hand; Fastify has `bodyLimit`). */
export function checkBodySize(bytes: number, max: number = INPUT_LIMITS.bodyBytes): void {
  if (bytes > max) {
    throw new PayloadTooLargeError(`The request body is ${bytes} bytes; the limit is ${max}.`, {
      param: "body",
    });
  }
}
