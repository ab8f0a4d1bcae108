/**
 * Response ids carry the id of the session that stores them, so `previous_response_id` and
 * `GET /v1/responses/{id}` resolve with one store read on any instance and any driver, with no
 * global index: `resp_` + 16 random hex characters + the session id's suffix (after `conv_`).
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import { randomHex } from "../../store/ids.ts";

const RANDOM_HEX = 16;
const RESPONSE_ID = /^resp_([0-9a-f]{16})([A-Za-z0-9_-]{8,96})$/;

export function newResponseId(sessionId: string): string {
  // Pooled CSPRNG bytes: a randomBytes call per turn cost a native call, a Buffer and a getpid.
  return `resp_${randomHex(RANDOM_HEX / 2)}${sessionId.slice("conv_".length)}`;
}

/** A response id derived from an idempotency key, so a retried turn finds its first result. */
export function responseIdForKey(sessionId: string, keyHash: string): string {
  return `resp_${keyHash.slice(0, RANDOM_HEX)}${sessionId.slice("conv_".length)}`;
}

export function sessionOfResponse(responseId: string, param = "previous_response_id"): string {
  const match = RESPONSE_ID.exec(responseId);
  if (!match) {
    throw new InvalidArgumentError(
      `'${String(responseId).slice(0, 80)}' is not a response id this server issued.`,
      {
        param,
      },
    );
  }
  return `conv_${match[2]}`;
}
