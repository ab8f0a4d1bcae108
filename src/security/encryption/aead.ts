/** AES-256-GCM sealing with associated data (node:crypto). Output: iv(12) | ciphertext | tag(16). */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

const IV_BYTES = 12;
const TAG_BYTES = 16;

const SIV_KEYS = new WeakMap<Buffer, Buffer>();

/** A separate key for IV derivation, so the data key is used by exactly one primitive. */
function sivKey(key: Buffer): Buffer {
  let derived = SIV_KEYS.get(key);
  if (!derived) {
    derived = createHmac("sha256", key).update("holdfast-siv-key").digest();
    SIV_KEYS.set(key, derived);
  }
  return derived;
}

/**
 * Seals `plaintext` bound to `aad`. With `deterministic`, the IV is an HMAC of (aad, plaintext)
 * under the same key (the SIV construction): equal inputs give equal ciphertexts, which lets a
 * retried append hash identically for idempotency; distinct inputs get distinct IVs.
 */
export function seal(key: Buffer, plaintext: Buffer, aad: string, deterministic = false): Buffer {
  const iv = deterministic
    ? createHmac("sha256", sivKey(key))
        .update(aad)
        .update("\u0000")
        .update(plaintext)
        .digest()
        .subarray(0, IV_BYTES)
    : randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Opens a sealed buffer; throws (any Error) when the key, aad or bytes do not match. */
export function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error("sealed value too short");
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]);
}
