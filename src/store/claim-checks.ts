/**
 * Validation of the store's write tokens: operation ids (idempotent appends) and turn claims
 * (holder + TTL, turned into an absolute expiry on the core's clock).
 */
import type { DriverClaim } from "./driver.ts";
import { InvalidArgumentError } from "./errors.ts";
import { assertObject, checkPositiveInt } from "./validate.ts";

const MAX_CLAIM_TTL_MS = 86_400_000;
const PRINTABLE_ASCII_ID = /^[\x21-\x7e]{1,255}$/;

/** An append's operation id: absent, or 1-255 printable ASCII characters. */
export function checkOperationId(operationId: unknown): string | undefined {
  if (
    operationId !== undefined &&
    (typeof operationId !== "string" || !PRINTABLE_ASCII_ID.test(operationId))
  ) {
    throw new InvalidArgumentError("Operation ids are 1-255 printable ASCII characters.", {
      param: "operation_id",
    });
  }
  return operationId;
}

export function checkHolder(holder: unknown): string {
  if (typeof holder !== "string" || !PRINTABLE_ASCII_ID.test(holder)) {
    throw new InvalidArgumentError("Claim holders are 1-255 printable ASCII characters.", {
      param: "claim.holder",
    });
  }
  return holder;
}

/** Validates a turn claim and turns its TTL into an absolute expiry on the core's clock. */
export function driverClaim(claim: unknown, now: number): DriverClaim {
  assertObject(claim, "Claim");
  const { holder, ttlMs, release } = claim as { holder?: unknown; ttlMs?: unknown; release?: unknown };
  const ttl = checkPositiveInt(ttlMs, "claim.ttlMs", MAX_CLAIM_TTL_MS);
  return { holder: checkHolder(holder), until: now + ttl, release: release === true };
}
