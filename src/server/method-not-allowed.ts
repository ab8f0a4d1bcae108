/**
 * Tells "wrong method" (405 with `Allow`) apart from "no such path" (404) for unmatched
 * requests. Routes are recorded as they are added (including ones the gateway adds later), so
 * the list is never maintained by hand.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorResponse } from "./errors.ts";

interface KnownPath {
  pattern: RegExp;
  methods: Set<string>;
}

function compile(url: string): RegExp {
  const escaped = url
    .split("/")
    .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${escaped}/?$`);
}

/** Records every route and installs a not-found handler that answers 405 for known paths. */
export function registerUnmatchedHandler(app: FastifyInstance): void {
  const known = new Map<string, KnownPath>();
  app.addHook("onRoute", (route) => {
    const entry = known.get(route.url) ?? { pattern: compile(route.url), methods: new Set<string>() };
    for (const method of [route.method].flat()) entry.methods.add(method);
    known.set(route.url, entry);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = (request.url.split("?")[0] ?? "").slice(0, 300);
    const allowed = new Set<string>();
    for (const entry of known.values()) {
      if (entry.pattern.test(path)) for (const m of entry.methods) allowed.add(m);
    }
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(", ");
      const message = `${request.method} is not supported on ${path}; use ${allow}.`;
      const response = errorResponse(405, "method_not_allowed", message);
      return reply.code(405).header("allow", allow).send(response.body);
    }
    const response = errorResponse(404, "not_found", `No route for ${request.method} ${path.slice(0, 200)}.`);
    return reply.code(404).send(response.body);
  });
}
