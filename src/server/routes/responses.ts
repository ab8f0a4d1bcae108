/**
 * `/v1/responses`: create (streaming or not), retrieve, and list input items. The engine does
 * the work; this file only translates HTTP.
 */
import type { FastifyInstance } from "fastify";
import { deleteResponse, readInputItems, readResponse } from "../../engine/turn/response-reads.ts";
import type { TurnEngine } from "../../engine/turn/turn-engine.ts";
import { conversationUsage } from "../../engine/turn/usage.ts";
import { InvalidArgumentError, NotFoundError } from "../../store/errors.ts";
import type { SessionStore } from "../../store/types.ts";
import type { InFlight } from "../in-flight.ts";
import { ResponsesSse } from "../responses-sse.ts";
import { conversationIdParams, listItemsQuery, queryInt } from "../schemas.ts";
import { serveTurn } from "../serve-turn.ts";
import type { WireItem } from "../wire.ts";
import { itemList } from "./items.ts";

const responseIdParams = {
  type: "object",
  properties: { id: { type: "string", minLength: 1, maxLength: 160 } },
  required: ["id"],
} as const;

const objectBody = { type: "object" } as const;

export function registerResponseRoutes(
  app: FastifyInstance,
  store: SessionStore,
  engine: TurnEngine,
  inFlight: InFlight,
): void {
  app.post<{ Body: Record<string, unknown> }>(
    "/v1/responses",
    { schema: { body: objectBody } },
    async (request, reply) => {
      return serveTurn({
        request,
        reply,
        engine,
        inFlight,
        body: request.body,
        stream: request.body.stream === true,
        answer: (final) => final,
        translator: (write) => new ResponsesSse(write),
      });
    },
  );

  // OpenAI's `stream=true` replays a response's events; a stored one here is always finished, so
  // it is refused rather than answered with JSON the caller's SSE parser would not read.
  app.get<{ Params: { id: string }; Querystring: { stream?: unknown } }>(
    "/v1/responses/:id",
    { schema: { params: responseIdParams } },
    async (request) => {
      const stream = request.query.stream;
      if (stream !== undefined && stream !== "false") {
        throw new InvalidArgumentError(
          "stream: retrieving a response as a stream of events is not supported; retrieve it without stream (a stored response is complete).",
          { param: "stream" },
        );
      }
      return readResponse(store, request.tenant, request.params.id);
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/responses/:id",
    { schema: { params: responseIdParams } },
    async (request) => {
      await deleteResponse(store, request.tenant, request.params.id);
      return { id: request.params.id, object: "response", deleted: true };
    },
  );

  // OpenAI's list parameters, as for conversation items: newest first, 20 per page, `after` an item id.
  app.get<{
    Params: { id: string };
    Querystring: { after?: string; limit?: string; order?: "asc" | "desc" };
  }>(
    "/v1/responses/:id/input_items",
    { schema: { params: responseIdParams, querystring: listItemsQuery } },
    async (request) => {
      const { after, order = "desc" } = request.query;
      const limit = queryInt(request.query.limit, "limit", 1, 100) ?? 20;
      const all = (await readInputItems(store, request.tenant, request.params.id)) as WireItem[];
      if (order === "desc") all.reverse();
      let start = 0;
      if (after !== undefined) {
        start = all.findIndex((item) => item.id === after) + 1;
        if (start === 0) {
          throw new NotFoundError(`after: no input item '${after}' in response '${request.params.id}'.`, {
            param: "after",
          });
        }
      }
      return itemList(all.slice(start, start + limit), start + limit < all.length);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/conversations/:id/usage",
    { schema: { params: conversationIdParams } },
    async (request) => conversationUsage(store, request.tenant, request.params.id),
  );
}
