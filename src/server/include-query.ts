/**
 * `include` in a query string (`?include=…`, or `?include[]=…` as the OpenAI SDK sends arrays),
 * taken by the item routes as OpenAI's are: each value must be one of OpenAI's `include` values,
 * else `400` naming `include`, as OpenAI refuses them. A known value changes nothing here: items
 * are returned as stored (a reasoning item's `encrypted_content` when its turn asked for it,
 * image URLs as sent), and no stored item has log probabilities or built-in tool results to add.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { RESPONSE_INCLUDES } from "../engine/turn/request-fields.ts";
import { InvalidArgumentError } from "../store/errors.ts";

/** The schema of an `include` query value: one string, or several (the key repeated). */
export const INCLUDE_QUERY = {
  anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
} as const;

const KNOWN: ReadonlySet<string> = new Set(RESPONSE_INCLUDES);

/** Throws for a value of `include` (or `include[]`) that is not one of OpenAI's. */
export function checkIncludeQuery(query: Readonly<Record<string, unknown>>): void {
  for (const key of ["include", "include[]"]) {
    for (const value of [query[key] ?? []].flat()) {
      if (typeof value === "string" && KNOWN.has(value)) continue;
      throw new InvalidArgumentError(
        `include: '${String(value).slice(0, 64)}' is not an include value; use ${RESPONSE_INCLUDES.join(", ")}.`,
        { param: "include" },
      );
    }
  }
}

/**
 * Every route added after this whose query schema takes `include` (as INCLUDE_QUERY) checks its
 * values before its handler runs, so no route that takes it can forget to.
 */
export function registerIncludeCheck(app: FastifyInstance): void {
  const check = async (request: FastifyRequest): Promise<void> => {
    checkIncludeQuery(request.query as Record<string, unknown>);
  };
  app.addHook("onRoute", (route) => {
    const query = route.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
    if (query?.properties?.include !== INCLUDE_QUERY) return;
    route.preHandler = [...[route.preHandler ?? []].flat(), check];
  });
}
