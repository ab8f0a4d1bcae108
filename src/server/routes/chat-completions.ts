/**
 * `/v1/chat/completions`: without `Holdfast-Conversation` a stateless pass-through turn; with it,
 * the conversation's stored history (fitted to the model) is sent before the request's messages,
 * and those messages plus the reply are appended to the conversation.
 */
import type { FastifyInstance } from "fastify";
import { chatRequestToResponses, responseToChatCompletion } from "../../engine/turn/chat-compat.ts";
import type { TurnEngine } from "../../engine/turn/turn-engine.ts";
import type { JsonObject } from "../../store/types.ts";
import { checkSessionId, isPlainObject } from "../../store/validate.ts";
import { ChatSse } from "../chat-sse.ts";
import { abortOnDisconnect, type InFlight } from "../in-flight.ts";
import { operationId } from "../preconditions.ts";
import { settleUsage } from "../rate-limit.ts";
import { streamSse } from "../sse-stream.ts";

export const CONVERSATION_HEADER = "holdfast-conversation";

export function registerChatCompletionRoutes(
  app: FastifyInstance,
  engine: TurnEngine,
  inFlight: InFlight,
): void {
  app.post<{ Body: Record<string, unknown> }>(
    "/v1/chat/completions",
    { schema: { body: { type: "object" } } },
    async (request, reply) => {
      const header = request.headers[CONVERSATION_HEADER];
      const conversationId =
        header === undefined
          ? null
          : checkSessionId(Array.isArray(header) ? header[0] : header, "Holdfast-Conversation");
      const body = chatRequestToResponses(request.body, conversationId);
      const key = operationId(request);
      const { controller, done } = inFlight.track();
      const ctx = { signal: controller.signal, ...(key ? { idempotencyKey: key } : {}) };
      let final: JsonObject | null = null;
      try {
        if (request.body.stream !== true) {
          const stopListening = abortOnDisconnect(reply, controller);
          try {
            final = await engine.respond(request.tenant, body, ctx);
          } finally {
            stopListening();
          }
          return responseToChatCompletion(final);
        }
        const options = request.body.stream_options;
        const includeUsage = isPlainObject(options) && options.include_usage === true;
        let translator: ChatSse | undefined;
        await streamSse({
          request,
          reply,
          controller,
          events: engine.respondStream(request.tenant, body, ctx),
          onEvent: (event, write) => {
            translator ??= new ChatSse(write, includeUsage);
            translator.handle(event);
            if (event.type === "completed" || event.type === "failed") final = event.response;
          },
          trailer: "data: [DONE]\n\n",
        });
        return reply;
      } finally {
        done();
        await settleUsage(request, final);
      }
    },
  );
}
