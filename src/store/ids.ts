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

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}
