/** Small primitives for secrets: random values, hashes, constant-time comparison. */
import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/** `bytes` random bytes as base64url (32 bytes = 256 bits by default). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  // One-shot: a third of the cost of createHash().update().digest() (API keys hash on every request).
  return hash("sha256", text, "hex");
}

/**
 * Constant-time equality of two digests (sha256Hex outputs: a stored hash and the hash of what
 * was presented). They are uniform-length already, so they are compared byte for byte without
 * hashing them again; a length mismatch (only a corrupt record) answers at once, which reveals
 * nothing but that public length.
 */
export function digestsEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
