/** How a framework's own conversation id becomes a Holdfast session id, deterministically. */
import { InvalidArgumentError } from "../../store/errors.ts";
import { SESSION_ID_PATTERN, sha256 } from "../../store/ids.ts";

/**
 * A Holdfast id (`conv_…`) is used as is; an id that fits after `conv_` (8-96 letters, digits,
 * `_`, `-`, e.g. the AI SDK's `generateId()`) gets the prefix; anything else (short, long, other
 * characters) becomes `conv_h_<sha256>`.
 */
export function sessionIdFor(id: string, param = "sessionId"): string {
  if (typeof id !== "string" || id.length === 0) {
    throw new InvalidArgumentError(`${param} must be a non-empty string.`, { param });
  }
  if (SESSION_ID_PATTERN.test(id)) return id;
  const prefixed = `conv_${id}`;
  return SESSION_ID_PATTERN.test(prefixed) && !id.startsWith("h_") ? prefixed : `conv_h_${sha256(id)}`;
}
