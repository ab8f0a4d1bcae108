/**
 * Reads a stored response back: the record item (found by id in the session the id names) and
 * the output items committed with it, which sit immediately before it in the same append.
 */
import { NotFoundError } from "../../store/errors.ts";
import type { Item, JsonObject, SessionStore } from "../../store/types.ts";
import { RECORD_TYPE, type ResponseRecord, toResponseObject, wireItem } from "./record.ts";
import { sessionOfResponse } from "./response-ids.ts";

async function recordItem(store: SessionStore, tenant: string, responseId: string): Promise<Item> {
  const missing = () =>
    new NotFoundError(`Response with id '${responseId}' not found.`, { param: "response_id" });
  const sessionId = sessionOfResponse(responseId, "response_id");
  const item = await store.getItem(tenant, sessionId, responseId).catch((error: unknown) => {
    throw (error as { code?: string }).code === "not_found" ? missing() : error;
  });
  if (item.type !== RECORD_TYPE) throw missing();
  return item;
}

export async function readResponse(
  store: SessionStore,
  tenant: string,
  responseId: string,
): Promise<JsonObject> {
  const item = await recordItem(store, tenant, responseId);
  const record = item.content as unknown as ResponseRecord;
  const count = record.output_item_ids.length;
  const outputs =
    count === 0
      ? []
      : await store.readItems(tenant, sessionOfResponse(responseId, "response_id"), {
          afterSeq: item.seq - count - 1,
          beforeSeq: item.seq,
          limit: count,
        });
  return toResponseObject(responseId, record, outputs.map(wireItem));
}

/** The input items of a stored response, in order (`GET /v1/responses/{id}/input_items`). */
export async function readInputItems(
  store: SessionStore,
  tenant: string,
  responseId: string,
): Promise<JsonObject[]> {
  const item = await recordItem(store, tenant, responseId);
  const record = item.content as unknown as ResponseRecord;
  const sessionId = sessionOfResponse(responseId, "response_id");
  const items = await Promise.all(record.input_item_ids.map((id) => store.getItem(tenant, sessionId, id)));
  return items.map(wireItem);
}
