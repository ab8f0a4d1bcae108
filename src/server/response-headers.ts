/**
 * Headers on every answer of the API (`/v1/**`, `/metrics`, health, errors): conversation
 * content must not be kept by a shared proxy or browser cache (`no-store` still allows the
 * ETags conditional requests use), and no answer is sniffed into another content type. Set in
 * one `onRequest` hook so that errors and server-sent event streams (which copy the reply's
 * headers into their own head) carry them too; a route with its own cache policy (the
 * dashboard's static files) overrides `cache-control`.
 */
import type { FastifyInstance } from "fastify";

export const API_CACHE_CONTROL = "no-store";

/** What the hook sets; the error handler sets them as well (Fastify's URL errors skip hooks). */
export const API_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "cache-control": API_CACHE_CONTROL,
  "x-content-type-options": "nosniff",
});

export function registerResponseHeaders(app: FastifyInstance): void {
  app.addHook("onRequest", (_request, reply, done) => {
    reply.headers(API_RESPONSE_HEADERS);
    done();
  });
}
