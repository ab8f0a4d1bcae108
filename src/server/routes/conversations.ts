/**
 * `/v1/conversations`: OpenAI's create, retrieve, update (POST) and delete, plus Holdfast's
 * list and fields (owner, labels, TTLs, pinned, state on create).
 */
import type { FastifyInstance } from "fastify";
import { keepUpstreamId } from "../../engine/context/items.ts";
import { createConversationOnce } from "../../engine/create-conversation-once.ts";
import { checkNewItems } from "../../engine/turn/new-items.ts";
import { checkNoControlChars } from "../../security/hostile-input.ts";
import type {
  CreateSessionInput,
  JsonObject,
  SessionStatus,
  SessionStore,
  UpdateSessionInput,
} from "../../store/types.ts";
import { expectedVersion, notModified, operationId, setVersion } from "../preconditions.ts";
import {
  conversationIdParams,
  createConversationBody,
  emptyQuery,
  listConversationsQuery,
  queryInt,
  updateConversationBody,
  writeQuery,
} from "../schemas.ts";
import { fromWireItem, toWireConversation, toWireConversationList } from "../wire.ts";

interface HoldfastFields {
  owner?: string | null;
  labels?: string[];
  idle_ttl_ms?: number | null;
  expires_at?: number | null;
  pinned?: boolean;
}

/** Wire fields → store fields; `expires_at` is unix seconds on the wire, ms in the store. */
export function toSessionFields(body: HoldfastFields): UpdateSessionInput {
  const out: UpdateSessionInput = {};
  if (body.owner !== undefined) out.owner = body.owner && checkNoControlChars(body.owner, "owner");
  if (body.labels !== undefined) out.labels = body.labels;
  if (body.idle_ttl_ms !== undefined) out.idleTtlMs = body.idle_ttl_ms;
  if (body.expires_at !== undefined) out.expiresAt = body.expires_at === null ? null : body.expires_at * 1000;
  if (body.pinned !== undefined) out.pinned = body.pinned;
  return out;
}

type CreateBody = HoldfastFields & {
  items?: JsonObject[];
  metadata?: Record<string, string> | null;
  state?: JsonObject;
};
type UpdateBody = HoldfastFields & { metadata?: Record<string, string>; status?: SessionStatus };
type Params = { id: string };
type ListQuery = {
  owner?: string;
  label?: string;
  status?: SessionStatus;
  updated_before?: string;
  updated_after?: string;
  order?: "asc" | "desc";
  limit?: string;
  after?: string;
};

const SECONDS_MAX = 8_640_000_000_000;

export function registerConversationRoutes(app: FastifyInstance, store: SessionStore): void {
  app.post<{ Body: CreateBody }>(
    "/v1/conversations",
    { schema: { body: createConversationBody, querystring: emptyQuery } },
    async (request, reply) => {
      const body = request.body;
      const input: CreateSessionInput = { ...toSessionFields(body) };
      if (body.metadata) input.metadata = body.metadata;
      if (body.state !== undefined) input.state = body.state;
      if (body.items !== undefined) {
        await checkNewItems(store, request.tenant, null, body.items);
        input.items = body.items.map((raw) => keepUpstreamId(fromWireItem(raw)));
      }
      const key = operationId(request);
      if (key === undefined) {
        const session = await store.create(request.tenant, input);
        setVersion(reply, session.version);
        return toWireConversation(session);
      }
      const owner = request.principal?.owner ?? null;
      const { session, replayed } = await createConversationOnce(store, request.tenant, input, key, owner);
      setVersion(reply, session.version);
      if (replayed) reply.header("idempotent-replayed", "true");
      return toWireConversation(session);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    "/v1/conversations",
    { schema: { querystring: listConversationsQuery } },
    async (request) => {
      const q = request.query;
      const before = queryInt(q.updated_before, "updated_before", 0, SECONDS_MAX);
      const after = queryInt(q.updated_after, "updated_after", 0, SECONDS_MAX);
      const page = await store.list(request.tenant, {
        owner: q.owner && checkNoControlChars(q.owner, "owner"),
        label: q.label,
        status: q.status,
        updatedBefore: before === undefined ? undefined : Math.max(1, before * 1000),
        updatedAfter: after === undefined ? undefined : after * 1000,
        order: q.order,
        limit: queryInt(q.limit, "limit", 1, 1000),
        cursor: q.after,
      });
      return toWireConversationList(page);
    },
  );

  app.get<{ Params: Params }>(
    "/v1/conversations/:id",
    { schema: { params: conversationIdParams, querystring: emptyQuery } },
    async (request, reply) => {
      const session = await store.get(request.tenant, request.params.id);
      if (notModified(request, reply, session.version)) return reply.code(304).send();
      return toWireConversation(session);
    },
  );

  app.post<{ Params: Params; Body: UpdateBody }>(
    "/v1/conversations/:id",
    { schema: { params: conversationIdParams, body: updateConversationBody, querystring: writeQuery } },
    async (request, reply) => {
      const patch = toSessionFields(request.body);
      if (request.body.metadata !== undefined) patch.metadata = request.body.metadata;
      if (request.body.status !== undefined) patch.status = request.body.status;
      const session = await store.update(request.tenant, request.params.id, patch, {
        expectedVersion: expectedVersion(request),
      });
      setVersion(reply, session.version);
      return toWireConversation(session);
    },
  );

  app.delete<{ Params: Params }>(
    "/v1/conversations/:id",
    { schema: { params: conversationIdParams, querystring: writeQuery } },
    async (request) => {
      await store.delete(request.tenant, request.params.id, { expectedVersion: expectedVersion(request) });
      return { id: request.params.id, object: "conversation.deleted", deleted: true };
    },
  );
}
