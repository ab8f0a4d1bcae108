/**
 * `/v1/responses`: create (streaming or not), retrieve, and list input items. The engine does
 * the work; this file only translates HTTP.
 */
import type { FastifyInstance } from "fastify";
import { deleteResponse, readInputItems, readResponse } from "../../engine/turn/response-reads.ts";
import type { TurnEngine } from "../../engine/turn/turn-engine.ts";
import { conversationUsage } from "../../engine/turn/usage.ts";
import type { SessionStore } from "../../store/types.ts";
import type { InFlight } from "../in-flight.ts";
import { ResponsesSse } from "../responses-sse.ts";
import { conversationIdParams } from "../schemas.ts";
import { serveTurn } from "../serve-turn.ts";

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

  app.get<{ Params: { id: string } }>(
    "/v1/responses/:id",
    { schema: { params: responseIdParams } },
    async (request) => readResponse(store, request.tenant, request.params.id),
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/responses/:id",
    { schema: { params: responseIdParams } },
    async (request) => {
      await deleteResponse(store, request.tenant, request.params.id);
      return { id: request.params.id, object: "response", deleted: true };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/responses/:id/input_items",
    { schema: { params: responseIdParams } },
    async (request) => {
      const data = await readInputItems(store, request.tenant, request.params.id);
      return {
        object: "list",
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: false,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/conversations/:id/usage",
    { schema: { params: conversationIdParams } },
    async (request) => conversationUsage(store, request.tenant, request.params.id),
  );
}
