/**
 * The one place where errors become HTTP responses. Everything else throws: typed
 * HoldfastErrors from the store and engine, Fastify's own errors (validation, parsing, size).
 * The body follows OpenAI's shape: `{ error: { type, code, message, param } }`.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { summarizeError } from "../observability/error-summary.ts";
import { RateLimitError, SECURITY_HTTP_STATUS } from "../security/errors.ts";
import { isHoldfastError } from "../store/errors.ts";
import { API_RESPONSE_HEADERS } from "./response-headers.ts";

/** HTTP status per stable error code. Codes ending in `_conflict` are 409 as well. */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  invalid_argument: 400,
  invalid_json: 400,
  invalid_request: 400,
  unauthenticated: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  request_timeout: 408,
  precondition_failed: 412,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  internal: 500,
  unavailable: 503,
  // The gateway: bad model or window, busy conversations, and upstream failures after retries and fallbacks.
  model_not_found: 404,
  context_length_exceeded: 400,
  context_overflow: 400,
  conversation_busy: 409,
  // Lifecycle: a session over its item/byte/token limit.
  quota_exceeded: 413,
  // An append to an archived session the store could not restore (its status was set by a caller:
  // there is no archive); the caller restores it or sets its status back to active.
  session_archived: 409,
  // An archived session whose archive is damaged: the server's data, not the request, is at fault.
  archive_corrupt: 500,
  cancelled: 400,
  upstream_invalid_request: 400,
  unsupported_content: 400,
  rate_limited: 429,
  upstream_error: 502,
  upstream_auth_error: 502,
  circuit_open: 503,
  upstream_timeout: 504,
  // Security: unknown credentials, denied scopes, rate limits, undecryptable data.
  ...SECURITY_HTTP_STATUS,
});

export interface ErrorBody {
  error: { type: string; code: string; message: string; param: string | null };
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

function statusFor(code: string, fault: "caller" | "system"): number {
  const known = STATUS_BY_CODE[code];
  if (known !== undefined) return known;
  if (code.endsWith("_conflict")) return 409;
  return fault === "caller" ? 400 : 500;
}

/** The response for an error the server itself detects (unknown route, wrong method). */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  param: string | null = null,
): ErrorResponse {
  const type = status >= 500 ? "server_error" : "invalid_request_error";
  return { status, body: { error: { type, code, message, param } }, headers: {} };
}

/** Names the offending field of an Ajv error, e.g. `body.items[0].type` → `items[0].type`. */
function validationParam(error: FastifyError): string | null {
  const first = error.validation?.[0];
  if (!first) return null;
  const path = first.instancePath
    .split("/")
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join("")
    .replace(/^\./, "");
  const missing = (first.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
  const leaf = missing.missingProperty ?? missing.additionalProperty;
  if (leaf) return path ? `${path}.${leaf}` : leaf;
  return path || null;
}

/**
 * What to fix, in the request's terms. Ajv's own words for the two commonest mistakes ("must NOT
 * have additional properties", "must be equal to one of the allowed values") name neither the
 * field nor the values it takes; the others ("must be integer", "must have required property 'x'")
 * do, after the field's path.
 */
function validationMessage(error: FastifyError, param: string | null): string {
  const where = error.validationContext ?? "request";
  const first = error.validation?.[0];
  const params = (first?.params ?? {}) as { allowedValues?: unknown[] };
  if (first?.keyword === "additionalProperties" && param !== null) {
    const what = where === "querystring" ? "query parameter" : `${where} field`;
    return `Unknown ${what} '${param}': remove it (docs/http-api.md lists what this route takes).`;
  }
  if (first?.keyword === "enum" && Array.isArray(params.allowedValues) && param !== null) {
    const allowed = params.allowedValues.map((v) => JSON.stringify(v)).join(", ");
    return `Invalid ${where}: ${param} must be one of ${allowed}.`;
  }
  return `Invalid ${where}: ${error.message}`;
}

function fromFastify(error: FastifyError): ErrorResponse {
  if (error.validation) {
    const param = validationParam(error);
    return errorResponse(400, "invalid_argument", validationMessage(error, param), param);
  }
  const status = typeof error.statusCode === "number" ? error.statusCode : 500;
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errorResponse(
        413,
        "payload_too_large",
        "The request body is larger than the server's limit.",
        null,
      );
    case "FST_ERR_MAX_PARAM_LENGTH":
      return errorResponse(414, "uri_too_long", "A path parameter is longer than any valid id.", null);
    case "FST_ERR_BAD_URL":
      return errorResponse(400, "invalid_request", "The request URL is malformed.", null);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errorResponse(
        415,
        "unsupported_media_type",
        "Send JSON bodies with 'Content-Type: application/json'.",
        null,
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return errorResponse(400, "invalid_json", "The request body is not valid JSON.", null);
  }
  // Body-parser failures (JSON.parse, secure-json-parse) are SyntaxErrors Fastify marks 400; a
  // SyntaxError without that mark comes from our own code and stays a 500.
  if (status === 400 && (error instanceof SyntaxError || error.name === "SyntaxError")) {
    return errorResponse(400, "invalid_json", `The request body is not valid JSON: ${error.message}`, null);
  }
  if (status >= 400 && status < 500) {
    const code =
      status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : "invalid_request";
    return errorResponse(status, code, error.message, null);
  }
  return errorResponse(500, "internal", "The server failed to process the request.", null);
}

/**
 * OpenAI's 429 names the limit that was hit in `type`: `requests` or `tokens` (per minute). The
 * daily spend cap is neither: `spend`.
 */
function rateLimitType(limit: string): string {
  const kind = limit.slice(limit.indexOf(":") + 1);
  return kind === "tokens" || kind === "spend" ? kind : "requests";
}

/** Maps any thrown value to the response the client gets. Pure, so it is tested on its own. */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (isHoldfastError(error)) {
    const status = statusFor(error.code, error.fault);
    const response = errorResponse(status, error.code, error.message, error.param);
    if (error instanceof RateLimitError) response.body.error.type = rateLimitType(error.limit);
    if (status >= 500 && error.code === "internal") response.body.error.message = "Internal server error.";
    if (error.retryAfterSeconds !== null) response.headers["retry-after"] = String(error.retryAfterSeconds);
    return response;
  }
  if (error instanceof Error) return fromFastify(error as FastifyError);
  return errorResponse(500, "internal", "The server failed to process the request.", null);
}

/** API_RESPONSE_HEADERS as raw header lines, for answers written to the socket by hand. */
const RAW_API_HEADERS = Object.entries(API_RESPONSE_HEADERS)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join("");

/**
 * Fastify error handler: logs system faults, replies with the body. The log gets the error's
 * summary (class, code, status, param, message length, frames, the operator's `detail`), never
 * its message: messages of upstream and driver errors quote request content. A caller's error
 * with a `detail` (a restore whose archive is missing: where it was looked for) is logged too, as
 * a warning: the answer does not say where, the operator needs to.
 */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const response = toErrorResponse(error);
  if (response.status >= 500) request.log.error({ err: summarizeError(error) }, "request failed");
  else if (isHoldfastError(error) && error.detail !== null) {
    request.log.warn({ err: summarizeError(error) }, "request refused");
  }
  return reply
    .code(response.status)
    .headers(API_RESPONSE_HEADERS)
    .headers(response.headers)
    .send(response.body);
}

/**
 * Requests so malformed that Node's HTTP parser rejects them (bad bytes, oversized headers,
 * slow clients) never reach Fastify's routing; they still get the same error body.
 */
export function handleClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const response =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? errorResponse(408, "request_timeout", "The request was not received in time.")
      : error.code === "HPE_HEADER_OVERFLOW"
        ? errorResponse(431, "headers_too_large", "The request headers are larger than the server accepts.")
        : errorResponse(400, "invalid_request", "The request is not valid HTTP/1.1.");
  const body = JSON.stringify(response.body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status]}\r\nConnection: close\r\nContent-Type: application/json\r\n${RAW_API_HEADERS}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
