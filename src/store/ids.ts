import { createHash, randomFillSync } from "node:crypto";

/**
 * Random bytes come from one pooled buffer refilled by the CSPRNG: one `randomFillSync` per
 * 256 ids instead of one `randomBytes` call (and Buffer allocation) per id.
 */
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;

/** `bytes` random bytes from the CSPRNG as hex (pooled: see above). */
export function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const hex = POOL.toString("hex", poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

export const SESSION_ID_PATTERN = /^conv_[A-Za-z0-9_-]{8,96}$/;
export const ITEM_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** 128 random bits as hex: unguessable ids (an id is not a secret, but it must not be enumerable). */
export function newSessionId(): string {
  return `conv_${randomHex(16)}`;
}

let lastMs = 0;

/**
 * Item ids follow OpenAI's prefixes so they read naturally on the wire. After the prefix come
 * 12 hex digits of a millisecond clock that never goes backwards in this process, then 80
 * random bits. Time order makes the SQLite `(id, session_rid)` index append-mostly (new
 * entries land on the right edge of the tree instead of a random page per session), which
 * halves the WAL pages an append writes; the random part keeps ids unique across processes
 * and not enumerable.
 */
export function newItemId(type: string): string {
  const prefix =
    type === "message"
      ? "msg"
      : type === "function_call"
        ? "fc"
        : type === "function_call_output"
          ? "fco"
          : type === "reasoning"
            ? "rs"
            : "item";
  const now = Date.now();
  if (now > lastMs) lastMs = now;
  return `${prefix}_${lastMs.toString(16).padStart(12, "0")}${randomHex(10)}`;
}

/** What `newBoundItemId` adds to the id it carries: `-hf` and 64 random bits. */
const BOUND_SUFFIX = /-hf[0-9a-f]{16}$/;
const BOUND_SUFFIX_LENGTH = "-hf".length + 16;

/**
 * A fresh item id that carries another id (`<id>-hf<16 hex>`), recoverable with `boundIdOf`: for
 * an item whose id must go back somewhere (an upstream's reasoning id) but cannot be the item's
 * own, since the other id need not be unique. Null when the other id does not fit an item id.
 */
export function newBoundItemId(bound: string): string | null {
  const id = `${bound}-hf${randomHex(8)}`;
  return ITEM_ID_PATTERN.test(id) && bound.length > 0 ? id : null;
}

/** What `newUnboundItemId` adds to a fresh id: `-hn` ("no binding") and 64 random bits. */
const UNBOUND_SUFFIX = /-hn[0-9a-f]{16}$/;

/**
 * A fresh item id that says it carries no other id (`<fresh id>-hn<16 hex>`): for an item that
 * should carry one (an upstream's reasoning id, see `newBoundItemId`) but cannot — the other id is
 * too long to fit an item id with the suffix (more than 109 characters), holds characters an item
 * id may not, or is missing. An id cannot hold a longer one, and Holdfast keeps no index from
 * which a shorter token (a hash) could be resolved back to it in any conversation a client sends
 * the item to; so the id says instead that it names no upstream item (`isUnboundItemId`), and is
 * never taken for the upstream's own.
 */
export function newUnboundItemId(type: string): string {
  return `${newItemId(type)}-hn${randomHex(8)}`;
}

/** Whether `id` was minted by `newUnboundItemId`: it carries no upstream id and is none. */
export function isUnboundItemId(id: string): boolean {
  return UNBOUND_SUFFIX.test(id);
}

/** The id a `newBoundItemId` id carries, or null for any other id. */
export function boundIdOf(id: string): string | null {
  return id.length > BOUND_SUFFIX_LENGTH && BOUND_SUFFIX.test(id) ? id.slice(0, -BOUND_SUFFIX_LENGTH) : null;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}
