/**
 * Optimistic concurrency and idempotency on the wire: `If-Match: "<version>"` or
 * `?expected_version=` become `expectedVersion`; `Idempotency-Key` becomes the operation id.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { InvalidArgumentError } from "../store/errors.ts";
import { entityTag, parseEntityTag } from "./wire.ts";

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** The version the client expects, from `If-Match` or `expected_version`; both must agree. */
export function expectedVersion(request: FastifyRequest): number | undefined {
  const query = (request.query ?? {}) as { expected_version?: string };
  const fromQuery = query.expected_version === undefined ? undefined : Number(query.expected_version);
  const ifMatch = header(request, "if-match");
  if (ifMatch === undefined) return fromQuery;
  const fromHeader = parseEntityTag(ifMatch);
  if (fromHeader === null) {
    throw new InvalidArgumentError('If-Match must be one entity tag holding a version, e.g. "3".', {
      param: "If-Match",
    });
  }
  if (fromQuery !== undefined && fromHeader !== undefined && fromQuery !== fromHeader) {
    throw new InvalidArgumentError("If-Match and expected_version disagree; send one of them.", {
      param: "expected_version",
    });
  }
  return fromHeader ?? fromQuery;
}

export function operationId(request: FastifyRequest): string | undefined {
  const key = header(request, "idempotency-key");
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new InvalidArgumentError("Idempotency-Key must be 1-255 printable ASCII characters.", {
      param: "Idempotency-Key",
    });
  }
  return key;
}

export function setVersion(reply: FastifyReply, version: number): void {
  reply.header("etag", entityTag(version));
}

/**
 * Sets the ETag and answers a conditional GET: true when `If-None-Match` already names this
 * version, in which case the caller replies 304 with no body (pollers skip the payload).
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, version: number): boolean {
  setVersion(reply, version);
  const ifNoneMatch = header(request, "if-none-match");
  if (ifNoneMatch === undefined) return false;
  const tag = entityTag(version);
  return ifNoneMatch.split(",").some((candidate) => {
    const value = candidate.trim();
    return value === "*" || value === tag || value === `W/${tag}`;
  });
}
