/**
 * What a client is told when the store refused a turn's commit. The store's error describes the
 * append it was given, which the client never saw; this one describes the answer.
 */
import { HoldfastError } from "../../store/errors.ts";

/**
 * The error a turn whose commit failed ends with: the store's code, a message about the answer
 * (the store's names its own list, `items[i]`, whose first items are the turn's `output[i]`), its
 * `Retry-After`, and no `param`: no field of the request is at fault.
 */
export function commitFailure(cause: unknown, outputs: number): HoldfastError {
  const code = cause instanceof HoldfastError ? cause.code : "internal";
  const reason =
    cause instanceof HoldfastError
      ? cause.message.replace(/\bitems\[(\d+)\]/g, (name, index: string) =>
          Number(index) < outputs ? `output[${index}]` : name,
        )
      : "the store failed.";
  const hint = code === "payload_too_large" ? " Ask for a shorter answer (max_output_tokens)." : "";
  // The store's `Retry-After` (an `unavailable` store's 503 carries one) stays with it.
  const retryAfterSeconds = cause instanceof HoldfastError ? cause.retryAfterSeconds : null;
  return new HoldfastError(code, `The turn's answer could not be stored: ${reason}${hint}`, {
    cause,
    ...(retryAfterSeconds === null ? {} : { retryAfterSeconds }),
  });
}
