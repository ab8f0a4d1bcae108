/**
 * Size limits under encryption. A limit means the caller's bytes — the serialized JSON of an item
 * body (its id left out) or of the session state — with encryption on or off: `withEncryption`
 * checks it on the plaintext, with the store core's code, message and param. The store under the
 * decorator sees only the sealed form (content-crypto.ts), which is larger (base64 of the
 * ciphertext, the blob's prefix, an item's clear fields), so it must accept the sealed form of a
 * plaintext at the limit: `sealedStoreLimits()` gives it the limits to be opened with.
 */
import type { StoreCoreOptions } from "../../store/core.ts";
import { isHoldfastError, PayloadTooLargeError } from "../../store/errors.ts";
import type { JsonObject } from "../../store/types.ts";
import { checkSize, LIMITS } from "../../store/validate.ts";
import { SEAL_OVERHEAD_BYTES } from "./aead.ts";

/** The plaintext limits `withEncryption` enforces (`EncryptionOptions`), in the core's terms. */
export interface PlaintextLimits {
  /** Largest item body, serialized JSON bytes. Default `LIMITS.itemBytes` (1 MiB). */
  maxItemBytes?: number;
  /** Largest session state, serialized JSON bytes. Default `LIMITS.stateBytes` (1 MiB). */
  maxStateBytes?: number;
}

/** `conv_` and at most 96 characters (SESSION_ID_PATTERN): the longest origin a blob names. */
const MAX_SESSION_ID_CHARS = 5 + 96;
/** Digits of the largest seq a format 2 blob carries (a safe integer: 16 digits). */
const MAX_SEQ_DIGITS = String(Number.MAX_SAFE_INTEGER).length;

/** Characters of base64url without padding for `bytes` bytes. */
const base64urlChars = (bytes: number): number => Math.ceil((bytes * 4) / 3);

/**
 * The largest stored content (serialized JSON bytes, as the store measures it) of an item whose
 * body serializes to at most `plaintextBytes`. The stored content is `{<clear fields>,"hf_enc":"…"}`:
 * its clear fields (`type`, `role`, `call_id`, `status`) are serialized exactly as in the body, so
 * together they take at most the body's bytes less its braces; the blob is `2.<origin>.<seq>.`
 * and the base64url of the sealed body (plaintext + IV + tag). Bounded for the worst case (a body
 * that is nearly all `call_id`), so the store never refuses an item the decorator accepted.
 */
export function sealedItemBytes(plaintextBytes: number): number {
  const blob =
    2 + MAX_SESSION_ID_CHARS + 1 + MAX_SEQ_DIGITS + 1 + base64urlChars(plaintextBytes + SEAL_OVERHEAD_BYTES);
  // `{` + clear fields (≤ plaintext − 2) + `,"hf_enc":"` + blob + `"}`.
  return 1 + (plaintextBytes - 2) + 11 + blob + 2;
}

/** The largest stored state (`{"hf_enc":"1.<session>.<base64url>"}`) for a state of `plaintextBytes`. */
export function sealedStateBytes(plaintextBytes: number): number {
  const blob = 2 + MAX_SESSION_ID_CHARS + 1 + base64urlChars(plaintextBytes + SEAL_OVERHEAD_BYTES);
  return 11 + blob + 2;
}

/**
 * The limits to open the store under `withEncryption` with (`createStore({ url,
 * ...sealedStoreLimits() })`), for the plaintext limits the decorator is given (default 1 MiB each):
 * the sealed size of a plaintext at the limit. A store opened with its defaults refuses items
 * from about 750 KB of plaintext, and names their sealed size.
 */
export function sealedStoreLimits(
  limits: PlaintextLimits = {},
): Required<Pick<StoreCoreOptions, "maxItemBytes" | "maxStateBytes">> {
  return {
    maxItemBytes: sealedItemBytes(limits.maxItemBytes ?? LIMITS.itemBytes),
    maxStateBytes: sealedStateBytes(limits.maxStateBytes ?? LIMITS.stateBytes),
  };
}

/** Refusals this module made on the plaintext: any other `payload_too_large` is the store's, of a sealed form. */
const PLAINTEXT_REFUSALS = new WeakSet<object>();

/** The store core's refusal of an item or state over its limit, made on the plaintext. */
export function checkPlainSize(bytes: number, max: number, what: string): void {
  try {
    checkSize(bytes, max, what, what);
  } catch (error) {
    PLAINTEXT_REFUSALS.add(error as object);
    throw error;
  }
}

/** The store core's refusal of a state over `maxStateBytes`, checked on the plaintext. */
export function checkPlainState(state: JsonObject, maxStateBytes: number): void {
  checkPlainSize(Buffer.byteLength(JSON.stringify(state)), maxStateBytes, "state");
}

/**
 * `error` as the decorator's caller should see it: a `payload_too_large` of the wrapped store,
 * for a plaintext the decorator accepted, names a sealed size the caller never sent; it is
 * answered with what to fix (the store was opened without `sealedStoreLimits()`).
 */
export function explainSealedRefusal(error: unknown): unknown {
  if (!isHoldfastError(error) || error.code !== "payload_too_large" || PLAINTEXT_REFUSALS.has(error)) {
    return error;
  }
  return new PayloadTooLargeError(
    `${error.message} That is the size of its encrypted form, within the limit before encryption: ` +
      "the store under withEncryption must be opened with sealedStoreLimits() (docs/security.md).",
    { param: error.param ?? undefined, cause: error },
  );
}

/** `explainSealedRefusal` as a promise's `catch`. */
export function rethrowExplained(error: unknown): never {
  throw explainSealedRefusal(error);
}
