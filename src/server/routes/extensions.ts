/**
 * Holdfast extensions, for what OpenAI has no verb for: the context window, the JSON state
 * (read, JSON Merge Patch) and fork.
 */
import type { FastifyInstance } from "fastify";
import { InvalidArgumentError } from "../../store/errors.ts";
import type { ForkInput, JsonObject, Session, SessionStore } from "../../store/types.ts";
import { expectedVersion, notModified, setVersion } from "../preconditions.ts";
import { conversationIdParams, emptyQuery, forkBody, queryInt, windowQuery, writeQuery } from "../schemas.ts";
import { toWireConversation, toWireItem } from "../wire.ts";
import { toSessionFields } from "./conversations.ts";
import { itemNamedBy } from "./items.ts";

type Params = { id: string };
type ForkBody = Parameters<typeof toSessionFields>[0] & {
  at_seq?: number;
  at_item_id?: string;
  metadata?: Record<string, string>;
  state?: JsonObject;
};

function stateBody(session: Session): object {
  return {
    object: "conversation.state",
    conversation_id: session.id,
    version: session.version,
    state: session.state,
  };
}

export function registerExtensionRoutes(app: FastifyInstance, store: SessionStore): void {
  app.get<{ Params: Params; Querystring: { max_tokens: string } }>(
    "/v1/conversations/:id/window",
    { schema: { params: conversationIdParams, querystring: windowQuery } },
    async (request, reply) => {
      const maxTokens = queryInt(request.query.max_tokens, "max_tokens", 0, Number.MAX_SAFE_INTEGER) ?? 0;
      const window = await store.readWindow(request.tenant, request.params.id, { maxTokens });
      setVersion(reply, window.sessionVersion);
      return {
        object: "conversation.window",
        conversation_id: request.params.id,
        version: window.sessionVersion,
        max_tokens: maxTokens,
        tokens: window.tokens,
        from_seq: window.fromSeq,
        truncated: window.truncated,
        data: window.items.map(toWireItem),
      };
    },
  );

  app.get<{ Params: Params }>(
    "/v1/conversations/:id/state",
    { schema: { params: conversationIdParams, querystring: emptyQuery } },
    async (request, reply) => {
      const session = await store.get(request.tenant, request.params.id);
      if (notModified(request, reply, session.version)) return reply.code(304).send();
      return stateBody(session);
    },
  );

  app.patch<{ Params: Params; Body: JsonObject }>(
    "/v1/conversations/:id/state",
    { schema: { params: conversationIdParams, body: { type: "object" }, querystring: writeQuery } },
    async (request, reply) => {
      const session = await store.patchState(request.tenant, request.params.id, request.body, {
        expectedVersion: expectedVersion(request),
      });
      setVersion(reply, session.version);
      return stateBody(session);
    },
  );

  app.post<{ Params: Params; Body: ForkBody }>(
    "/v1/conversations/:id/fork",
    { schema: { params: conversationIdParams, body: forkBody, querystring: emptyQuery } },
    async (request, reply) => {
      const { tenant, body } = request;
      const input: ForkInput = { ...toSessionFields(body) };
      if (body.metadata !== undefined) input.metadata = body.metadata;
      if (body.state !== undefined) input.state = body.state;
      if (body.at_seq !== undefined) input.atSeq = body.at_seq;
      // An item id is the cursor clients know (items on the wire carry no seq); fork after it.
      if (body.at_item_id !== undefined) {
        if (body.at_seq !== undefined) {
          throw new InvalidArgumentError("Send at_seq or at_item_id, not both.", { param: "at_item_id" });
        }
        const item = await itemNamedBy(store, tenant, request.params.id, body.at_item_id, "at_item_id");
        input.atSeq = item.seq;
      }
      const session = await store.fork(tenant, request.params.id, input);
      setVersion(reply, session.version);
      return toWireConversation(session);
    },
  );
}
