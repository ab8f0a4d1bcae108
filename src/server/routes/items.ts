/**
 * `/v1/conversations/{id}/items`: OpenAI's list (cursor `after` = item id), create, retrieve
 * and delete. Creates are atomic, idempotent with `Idempotency-Key`; creates and deletes are
 * optimistic with `If-Match` / `expected_version`.
 */
import type { FastifyInstance } from "fastify";
import { keepUpstreamId } from "../../engine/context/items.ts";
import { checkNewItems } from "../../engine/turn/new-items.ts";
import { HIDDEN_ITEM_TYPES } from "../../engine/turn/record.ts";
import { NotFoundError } from "../../store/errors.ts";
import type { Item, JsonObject, SessionStore } from "../../store/types.ts";
import { expectedVersion, operationId, setVersion } from "../preconditions.ts";
import {
  appendItemsBody,
  conversationIdParams,
  itemIdParams,
  listItemsQuery,
  queryInt,
  writeQuery,
} from "../schemas.ts";
import { fromWireItem, toWireConversation, toWireItem, type WireItem } from "../wire.ts";

type Params = { id: string };
type ListQuery = { after?: string; limit?: string; order?: "asc" | "desc" };

/** OpenAI's item list envelope. */
export function itemList(data: WireItem[], hasMore: boolean): object {
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}

/**
 * The item a request names in a field other than the path (`after`, `at_item_id`): when it is
 * missing, the 404 names that field, not the store's `item_id` the client never sent.
 */
export async function itemNamedBy(
  store: SessionStore,
  tenant: string,
  sessionId: string,
  itemId: string,
  param: string,
): Promise<Item> {
  try {
    return await store.getItem(tenant, sessionId, itemId);
  } catch (error) {
    if (!(error instanceof NotFoundError) || error.param !== "item_id") throw error;
    throw new NotFoundError(`${param}: no item '${itemId}' in conversation '${sessionId}'.`, { param });
  }
}

export function registerItemRoutes(app: FastifyInstance, store: SessionStore): void {
  app.get<{ Params: Params; Querystring: ListQuery }>(
    "/v1/conversations/:id/items",
    { schema: { params: conversationIdParams, querystring: listItemsQuery } },
    async (request) => {
      const { id } = request.params;
      const order = request.query.order ?? "desc";
      const limit = queryInt(request.query.limit, "limit", 1, 100) ?? 20;
      // The cursor is an item id (OpenAI's contract); its seq is the position to continue from.
      const cursor =
        request.query.after === undefined
          ? undefined
          : await itemNamedBy(store, request.tenant, id, request.query.after, "after");
      // Response records live in the transcript but are not conversation items: skip them,
      // reading on until the page is full.
      const rows: Item[] = [];
      let position = cursor?.seq;
      for (;;) {
        const batch = await store.readItems(request.tenant, id, {
          order,
          limit: limit + 1,
          afterSeq: order === "asc" ? position : undefined,
          beforeSeq: order === "desc" ? position : undefined,
        });
        rows.push(...batch.filter((item) => !HIDDEN_ITEM_TYPES.has(item.type)));
        if (rows.length > limit || batch.length <= limit) break;
        position = batch.at(-1)!.seq;
      }
      return itemList(rows.slice(0, limit).map(toWireItem), rows.length > limit);
    },
  );

  app.post<{ Params: Params; Body: { items: JsonObject[] } }>(
    "/v1/conversations/:id/items",
    { schema: { params: conversationIdParams, body: appendItemsBody, querystring: writeQuery } },
    async (request, reply) => {
      const { tenant, body, params } = request;
      const options = { expectedVersion: expectedVersion(request), operationId: operationId(request) };
      await checkNewItems(store, tenant, params.id, body.items, { retry: options.operationId !== undefined });
      const result = await store.append(
        tenant,
        params.id,
        body.items.map((raw) => keepUpstreamId(fromWireItem(raw))),
        options,
      );
      setVersion(reply, result.version);
      if (result.replayed) reply.header("idempotent-replayed", "true");
      return itemList(result.items.map(toWireItem), false);
    },
  );

  app.get<{ Params: Params & { item_id: string } }>(
    "/v1/conversations/:id/items/:item_id",
    { schema: { params: itemIdParams, querystring: writeQuery } },
    async (request) => {
      const { id, item_id: itemId } = request.params;
      const item = await store.getItem(request.tenant, id, itemId);
      if (HIDDEN_ITEM_TYPES.has(item.type)) {
        throw new NotFoundError(`No item '${itemId}' in conversation '${id}'.`, { param: "item_id" });
      }
      return toWireItem(item);
    },
  );

  // OpenAI answers with the conversation. A function call and its outputs go together (see
  // SessionStore.deleteItem), so the windows of later turns stay valid.
  app.delete<{ Params: Params & { item_id: string } }>(
    "/v1/conversations/:id/items/:item_id",
    { schema: { params: itemIdParams, querystring: writeQuery } },
    async (request, reply) => {
      const { id, item_id: itemId } = request.params;
      // Bookkeeping items (response records, summaries) are not conversation items: 404 as for GET.
      const item = await store.getItem(request.tenant, id, itemId);
      if (HIDDEN_ITEM_TYPES.has(item.type)) {
        throw new NotFoundError(`No item '${itemId}' in conversation '${id}'.`, { param: "item_id" });
      }
      const session = await store.deleteItem(request.tenant, id, itemId, {
        expectedVersion: expectedVersion(request),
      });
      setVersion(reply, session.version);
      return toWireConversation(session);
    },
  );
}
