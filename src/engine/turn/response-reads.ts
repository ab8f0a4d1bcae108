/**
 * Reads a stored response back: the record item (found by id in the session the id names) and
 * the output items committed with it, which sit immediately before it in the same append.
 * Conversation items deleted since (DELETE …/items/{id}) are left out of its output and input
 * lists; deleting the response itself removes only its record.
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

/** A stored response: its Response object and the record it was built from. */
export interface StoredResponse {
  response: JsonObject;
  record: ResponseRecord;
}

export async function readResponse(
  store: SessionStore,
  tenant: string,
  responseId: string,
): Promise<JsonObject> {
  return (await readStoredResponse(store, tenant, responseId)).response;
}

/** The Response object of a stored response, with its record (what a replay is announced from). */
export async function readStoredResponse(
  store: SessionStore,
  tenant: string,
  responseId: string,
): Promise<StoredResponse> {
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
  // Seqs are never reused, so the range holds only this turn's outputs (minus any deleted since).
  const named = new Set(record.output_item_ids);
  const response = toResponseObject(responseId, record, outputs.filter((o) => named.has(o.id)).map(wireItem));
  return { response, record };
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
  const items = await Promise.all(
    record.input_item_ids.map((id) =>
      store.getItem(tenant, sessionId, id).catch((error: unknown) => {
        // An input item deleted from the conversation since is simply no longer listed.
        if ((error as { code?: string }).code === "not_found") return null;
        throw error;
      }),
    ),
  );
  return items.filter((item) => item !== null).map(wireItem);
}

/**
 * Deletes a stored response: its record item only. The conversation items the turn wrote
 * (input and output) stay, as with OpenAI; afterwards the id is unknown to GET, input_items and
 * `previous_response_id` (404).
 */
export async function deleteResponse(store: SessionStore, tenant: string, responseId: string): Promise<void> {
  await recordItem(store, tenant, responseId);
  await store
    .deleteItem(tenant, sessionOfResponse(responseId, "response_id"), responseId)
    .catch((error: unknown) => {
      // Deleted by a concurrent call between the read and the delete: the same answer as unknown.
      if ((error as { code?: string }).code === "not_found") {
        throw new NotFoundError(`Response with id '${responseId}' not found.`, { param: "response_id" });
      }
      throw error;
    });
}
