/**
 * `/v1/chat/completions`: without `Holdfast-Conversation` a stateless pass-through turn; with it,
 * the conversation's stored history (fitted to the model) is sent before the request's messages,
 * and those messages plus the reply are appended to the conversation.
 */
import type { FastifyInstance } from "fastify";
import { chatRequestToResponses, responseToChatCompletion } from "../../engine/turn/chat-compat.ts";
import { toChatError } from "../../engine/turn/chat-params.ts";
import type { TurnEngine } from "../../engine/turn/turn-engine.ts";
import { checkSessionId, isPlainObject } from "../../store/validate.ts";
import { ChatSse } from "../chat-sse.ts";
import type { InFlight } from "../in-flight.ts";
import { serveTurn } from "../serve-turn.ts";

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
      const { body, sources } = chatRequestToResponses(request.body, conversationId);
      const options = request.body.stream_options;
      const includeUsage = isPlainObject(options) && options.include_usage === true;
      return serveTurn({
        request,
        reply,
        engine,
        inFlight,
        body,
        stream: request.body.stream === true,
        answer: responseToChatCompletion,
        translator: (write) => new ChatSse(write, includeUsage),
        trailer: "data: [DONE]\n\n",
        // The turn names the translated body's `input[i]`; the client sent `messages[m]`, also in
        // the text of an error a stream ends with once open (whose `param` is null).
        renameError: (error) => toChatError(error, sources),
      });
    },
  );
}
