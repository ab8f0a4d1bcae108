/**
 * `/v1/responses`: create (streaming or not), retrieve, and list input items. The engine does
 * the work; this file only translates HTTP.
 */
import type { FastifyInstance } from "fastify";
import { deleteResponse, readInputItems, readResponse } from "../../engine/turn/response-reads.ts";
import type { TurnEngine } from "../../engine/turn/turn-engine.ts";
import { conversationUsage } from "../../engine/turn/usage.ts";
import type { JsonObject, SessionStore } from "../../store/types.ts";
import { abortOnDisconnect, type InFlight } from "../in-flight.ts";
import { operationId } from "../preconditions.ts";
import { settleUsage } from "../rate-limit.ts";
import { ResponsesSse } from "../responses-sse.ts";
import { conversationIdParams } from "../schemas.ts";
import { streamSse } from "../sse-stream.ts";

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
      const key = operationId(request);
      const { controller, done } = inFlight.track();
      const ctx = { signal: controller.signal, ...(key ? { idempotencyKey: key } : {}) };
      let final: JsonObject | null = null;
      try {
        if (request.body.stream !== true) {
          const stopListening = abortOnDisconnect(reply, controller);
          try {
            final = await engine.respond(request.tenant, request.body, ctx);
          } finally {
            stopListening();
          }
          return final;
        }
        let translator: ResponsesSse | undefined;
        await streamSse({
          request,
          reply,
          controller,
          events: engine.respondStream(request.tenant, request.body, ctx),
          onEvent: (event, write) => {
            translator ??= new ResponsesSse(write);
            translator.handle(event);
            if (event.type === "completed" || event.type === "failed") final = event.response;
          },
        });
        return reply;
      } finally {
        done();
        await settleUsage(request, final);
      }
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
