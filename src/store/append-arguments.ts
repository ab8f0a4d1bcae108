/**
 * The argument checks of an append, in the order the core makes them: the batch (every item,
 * then not empty), the operation id, the expected version, the claim. They all come before the
 * session is looked up, so a bad append answers `invalid_argument` whether or not its session
 * exists; decorators that look the session up first (withEncryption) ask the same questions.
 */
import { checkOperationId, driverClaim } from "./claim-checks.ts";
import type { DriverClaim, PreparedItem } from "./driver.ts";
import { InvalidArgumentError } from "./errors.ts";
import { type PrepareOptions, prepareItems } from "./prepare-items.ts";
import type { AppendOptions } from "./types.ts";
import { checkVersion } from "./validate.ts";

export interface AppendArguments {
  items: PreparedItem[];
  operationId: string | undefined;
  expectedVersion: number | undefined;
  claim: DriverClaim | undefined;
}

/** Validates an append's items and options; throws `invalid_argument` naming the first bad one. */
export function appendArguments(
  items: unknown,
  options: AppendOptions,
  now: number,
  prepare: PrepareOptions,
): AppendArguments {
  const prepared = prepareItems(items, now, prepare);
  if (prepared.length === 0) throw new InvalidArgumentError("Append at least one item.", { param: "items" });
  return {
    items: prepared,
    operationId: checkOperationId(options.operationId),
    expectedVersion: checkVersion(options.expectedVersion),
    claim: options.claim === undefined ? undefined : driverClaim(options.claim, now),
  };
}
