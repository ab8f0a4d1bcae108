/**
 * What a log line says about a failure. Error messages cannot be trusted to be free of
 * conversation content: an upstream's 500 body echoes the prompt, a driver error quotes the
 * value it rejected (`invalid input syntax for type json: "…"`), `JSON.parse` quotes its input,
 * and Holdfast's own typed errors wrap all of these (`Postgres error: …`, `openai answered 500:
 * …`). So a logged error is its class, code, status, param, provider and the length of its
 * message — never the message — plus the stack's frames (file positions, without the header that
 * repeats the message) and the same summary of its causes. Codes and params are logged only when
 * they look like identifiers. A Holdfast error's `detail` is logged as it is: it is written for
 * the operator (where on the server an archive lies) and never holds request content.
 */

import { HoldfastError } from "../store/errors.ts";

/** Causes followed below the logged error. */
const MAX_CAUSES = 3;
const MAX_FRAMES = 12;
const MAX_DETAIL = 1000;
const TOKEN = /^[A-Za-z0-9_.:$-]{1,64}$/;
const PARAM = /^[A-Za-z0-9_.[\]-]{1,128}$/;
const FRAME = /^\s+at \S/;

/** Summaries already made (handleError's, then the logger's `err` serializer): passed through as they are. */
const summaries = new WeakSet<object>();

export interface ErrorSummary {
  type: string;
  code?: string | number;
  status?: number;
  param?: string;
  provider?: string;
  message_length?: number;
  detail?: string;
  stack?: string[];
  cause?: ErrorSummary;
}

function token(value: unknown): string | undefined {
  return typeof value === "string" && TOKEN.test(value) ? value : undefined;
}

/** The frames of `error.stack`, after the header (which holds the message); none when the header cannot be found. */
function frames(error: Error): string[] | undefined {
  const stack = error.stack;
  if (typeof stack !== "string") return undefined;
  const message = typeof error.message === "string" ? error.message : "";
  const at = stack.indexOf(message);
  if (at < 0) return undefined;
  const out: string[] = [];
  for (const line of stack.slice(at + message.length).split("\n")) {
    if (!FRAME.test(line)) continue;
    out.push(line.trim());
    if (out.length === MAX_FRAMES) break;
  }
  return out.length > 0 ? out : undefined;
}

function summarize(value: unknown, depth: number): ErrorSummary {
  if (value === null || typeof value !== "object") {
    const summary: ErrorSummary = { type: value === null ? "null" : typeof value };
    if (typeof value === "string") summary.message_length = value.length;
    return summary;
  }
  const record = value as Record<string, unknown>;
  const isError = value instanceof Error;
  const summary: ErrorSummary = {
    type: token(isError ? value.constructor?.name : undefined) ?? (isError ? "Error" : "object"),
  };
  const code = record.code;
  if (typeof code === "number" && Number.isFinite(code)) summary.code = code;
  else if (token(code)) summary.code = code as string;
  const status = typeof record.status === "number" ? record.status : record.statusCode;
  if (typeof status === "number" && Number.isInteger(status)) summary.status = status;
  if (typeof record.param === "string" && PARAM.test(record.param)) summary.param = record.param;
  const provider = token(record.provider);
  if (provider) summary.provider = provider;
  if (typeof record.message === "string") summary.message_length = record.message.length;
  if (value instanceof HoldfastError && value.detail !== null)
    summary.detail = value.detail.slice(0, MAX_DETAIL);
  if (isError && depth === 0) {
    const stack = frames(value);
    if (stack) summary.stack = stack;
  }
  if (record.cause !== undefined && depth < MAX_CAUSES) summary.cause = summarize(record.cause, depth + 1);
  return summary;
}

/** The loggable description of any thrown value (see the module comment); idempotent. */
export function summarizeError(error: unknown): ErrorSummary {
  if (typeof error === "object" && error !== null && summaries.has(error)) return error as ErrorSummary;
  const summary = summarize(error, 0);
  summaries.add(summary);
  return summary;
}
