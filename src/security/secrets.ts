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
 * Constant-time string equality. Both sides are hashed first so the comparison time depends on
 * neither content nor length (timingSafeEqual itself requires equal lengths).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  // The hex digests always have 64 characters; latin1 turns each into its 64 bytes without decoding.
  const ha = Buffer.from(hash("sha256", a, "hex"), "latin1");
  const hb = Buffer.from(hash("sha256", b, "hex"), "latin1");
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
