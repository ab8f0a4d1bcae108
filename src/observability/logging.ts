/**
 * Structured logs with pino. `loggingOptions()` gives the Fastify constructor fragment: a pino
 * logger that redacts credentials and conversation content by default (the paths of
 * src/security/redact.ts), and request ids taken from `x-request-id` (when well-formed) or
 * generated. `registerRequestLogging(app)` echoes the id as a response header, keeps it readable
 * anywhere in the request's async flow (`currentRequestId()`, for upstream propagation), and
 * writes one line per completed request.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { DestinationStream, LoggerOptions } from "pino";
import { REDACT_PATHS, REDACTED } from "../security/redact.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import { summarizeError } from "./error-summary.ts";
import { redactSecrets, redactStrings, scrub, splitRedactPaths } from "./redaction.ts";

export const REQUEST_ID_HEADER = "x-request-id";
/** Header name the engine should set on upstream calls (most providers log it). */
export const UPSTREAM_REQUEST_ID_HEADER = "x-request-id";

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export interface LoggingOptions {
  /** pino level. Default `info`. */
  level?: string;
  /**
   * Redaction paths. Default: REDACT_PATHS (credentials and content). `extraRedactPaths` adds
   * to them; `redactPaths` replaces them (pass `[]` only for local debugging).
   */
  redactPaths?: readonly string[];
  extraRedactPaths?: readonly string[];
  /** Where lines go (default stdout). Tests pass a capturing stream. */
  stream?: DestinationStream;
}

/** The Fastify constructor options this module needs: logger, request id header and generator. */
export type LoggingServerOptions = Pick<FastifyServerOptions, "genReqId" | "requestIdHeader"> & {
  logger: LoggerOptions & { stream?: DestinationStream };
  logController: LogController;
};

/** The field carrying the request id on every line. */
export const REQUEST_ID_LOG_LABEL = "request_id";

/** Accepts a client-supplied id when it is short and plain, else generates a UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID_PATTERN.test(value) ? value : randomUUID();
}

/** Fastify options fragment: `Fastify({ ...loggingOptions(), … })`. */
export function loggingOptions(options: LoggingOptions = {}): LoggingServerOptions {
  const paths = [...(options.redactPaths ?? REDACT_PATHS), ...(options.extraRedactPaths ?? [])];
  for (const path of paths) {
    if (typeof path !== "string" || path.length === 0) {
      throw new InvalidArgumentError("options.redactPaths entries must be non-empty strings.", {
        param: "redactPaths",
      });
    }
  }
  const { exactPaths, keys } = splitRedactPaths(paths);
  const logger: LoggerOptions & { stream?: DestinationStream } = {
    level: options.level ?? "info",
    redact: { paths: exactPaths, censor: REDACTED },
    formatters: {
      log: (object) => scrub(object, keys) as Record<string, unknown>,
      bindings: (bindings) => scrub(bindings, keys) as Record<string, unknown>,
    },
    // Errors echo what they were given (an upstream's body quoting the prompt or the key, a
    // driver's rejected value, a connection string): a logged error is its summary — class,
    // code, status, param, message length, stack frames, causes — never its message. Log
    // messages, which callers build from the same strings, lose anything credential-shaped.
    serializers: {
      err: (error: unknown) => redactStrings(summarizeError(error), keys) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((arg) => (typeof arg === "string" ? redactSecrets(arg) : arg));
        return method.apply(this, redacted as Parameters<typeof method>);
      },
    },
    // Fastify's default request serializer logs the URL only; headers never reach a line unless
    // someone logs them, and then the paths above apply.
    ...(options.stream ? { stream: options.stream } : {}),
  };
  return {
    logger,
    // Fastify reads the header itself only to pass it to genReqId; validation happens there.
    requestIdHeader: false,
    // Fastify's own per-request lines are off: registerRequestLogging writes one line per request.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: REQUEST_ID_LOG_LABEL,
    }),
    genReqId: (req) => requestIdFrom(req.headers[REQUEST_ID_HEADER]),
  };
}

const requestIds = new AsyncLocalStorage<string>();

/** The id of the request whose async flow is running, or undefined outside a request. */
export function currentRequestId(): string | undefined {
  return requestIds.getStore();
}

/** Echoes `x-request-id`, scopes `currentRequestId()`, and logs one line per completed request. */
export function registerRequestLogging(app: FastifyInstance): void {
  app.addHook("onRequest", (request, reply, done) => {
    // Set here for answers that bypass onSend (server-sent event streams write their own head).
    reply.header(REQUEST_ID_HEADER, request.id);
    requestIds.run(request.id, done);
  });
  // Also onSend: refusals by hooks that run before this one (401, 429) carry the id too.
  app.addHook("onSend", (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done(null, payload);
  });
  app.addHook("onResponse", (request, reply, done) => {
    const status = reply.statusCode;
    const fields = {
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status,
      duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      ...(request.tenant ? { tenant: request.tenant } : {}),
    };
    if (status >= 500) request.log.error(fields, "request failed");
    else request.log.info(fields, "request completed");
    done();
  });
}
