/**
 * AES-256-GCM sealing with associated data (node:crypto). Output: iv(12) | ciphertext | tag(16).
 *
 * Speed matters here (one seal per appended item, one open per item read cold): handing
 * node:crypto a raw Buffer key makes it import the key on every call (~3× the cost of the AES
 * work itself for a small item), so each key is imported once as a KeyObject, cached beside the
 * Buffer in a WeakMap (it lives exactly as long as the caller keeps the key: the data-key cache
 * bounds and drops those). Random IVs come from a pooled CSPRNG buffer, never reused.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomFillSync,
} from "node:crypto";

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** What `seal` adds to the plaintext: GCM is a stream mode, so the rest is exactly its bytes. */
export const SEAL_OVERHEAD_BYTES = IV_BYTES + TAG_BYTES;
const IV_POOL_BYTES = 12 * 512;

const KEY_OBJECTS = new WeakMap<Buffer, KeyObject>();
const SIV_KEYS = new WeakMap<Buffer, KeyObject>();

/** The imported form of `key`, made once per key. */
function keyObject(key: Buffer): KeyObject {
  let object = KEY_OBJECTS.get(key);
  if (!object) {
    object = createSecretKey(key);
    KEY_OBJECTS.set(key, object);
  }
  return object;
}

/** A separate key for IV derivation, so the data key is used by exactly one primitive. */
function sivKey(key: Buffer): KeyObject {
  let derived = SIV_KEYS.get(key);
  if (!derived) {
    derived = createSecretKey(createHmac("sha256", key).update("holdfast-siv-key").digest());
    SIV_KEYS.set(key, derived);
  }
  return derived;
}

let ivPool = Buffer.alloc(0);
let ivOffset = 0;

/** 12 fresh random bytes: slices of a CSPRNG buffer refilled when used up (each byte used once). */
function randomIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomFillSync(Buffer.allocUnsafe(IV_POOL_BYTES));
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/** HMAC-SHA256 of `parts` under `key` (imported once), e.g. to derive ids from an operation id. */
export function hmac(key: Buffer, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac("sha256", keyObject(key));
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Seals `plaintext` (a string is sealed as its UTF-8 bytes, without a Buffer copy first) bound
 * to `aad`. With `deterministic`, the IV is an HMAC of (aad, plaintext) under the same key (the
 * SIV construction): equal inputs give equal ciphertexts, which lets a retried append hash
 * identically for idempotency; distinct inputs get distinct IVs.
 */
export function seal(key: Buffer, plaintext: Buffer | string, aad: string, deterministic = false): Buffer {
  const iv = deterministic
    ? createHmac("sha256", sivKey(key))
        .update(aad)
        .update("\u0000")
        .update(plaintext)
        .digest()
        .subarray(0, IV_BYTES)
    : randomIv();
  const cipher = createCipheriv("aes-256-gcm", keyObject(key), iv);
  cipher.setAAD(Buffer.from(aad));
  const body = typeof plaintext === "string" ? cipher.update(plaintext, "utf8") : cipher.update(plaintext);
  const rest = cipher.final(); // empty for GCM (a stream mode), kept for exactness
  return Buffer.concat(
    [iv, body, rest, cipher.getAuthTag()],
    IV_BYTES + body.length + rest.length + TAG_BYTES,
  );
}

/** Opens a sealed buffer; throws (any Error) when the key, aad or bytes do not match. */
export function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error("sealed value too short");
  const decipher = createDecipheriv("aes-256-gcm", keyObject(key), sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES));
  const rest = decipher.final();
  return rest.length === 0 ? body : Buffer.concat([body, rest]);
}
