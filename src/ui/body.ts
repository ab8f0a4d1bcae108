/**
 * The JSON body of a dashboard write. No body is `{}`; any other body must be an object holding
 * only the fields the route takes. Reading `body?.field` instead let a string, an array, a number
 * or `null` through as "no fields" (Fork then forked at the end), and a misspelt field (`at_seq`,
 * the HTTP API's name) was dropped and its default used without a word.
 */
import { InvalidArgumentError } from "../store/errors.ts";

/** `body` as an object with only `fields`, else 400 `invalid_argument` naming the body or the field. */
export function bodyObject(body: unknown, fields: readonly string[]): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InvalidArgumentError(
      `The body must be a JSON object${fields.length ? ` (fields: ${fields.join(", ")})` : ""}.`,
      { param: "body" },
    );
  }
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) {
      throw new InvalidArgumentError(
        `Unknown body field '${key.slice(0, 64)}': this route takes ${fields.join(", ") || "no fields"}.`,
        { param: key.slice(0, 64) },
      );
    }
  }
  return body as Record<string, unknown>;
}
