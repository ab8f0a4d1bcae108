/**
 * How an Agents SDK item is stored: the store owns item ids (unique per session, while the SDK
 * may reuse an id after a suffix replacement) and requires a `type`, so both are moved aside
 * and restored on read.
 */
import { InvalidArgumentError } from "../../../store/errors.ts";
import type { Item, JsonObject } from "../../../store/types.ts";
import { EDIT_MARKER_TYPE } from "../edit-log.ts";
import { toJsonObject } from "../json.ts";

/** Where the SDK item's own `id` is kept (the store owns the item `id` and requires it unique). */
export const ORIGINAL_ID_FIELD = "agents_item_id";
/** Set when the SDK item had no `type` (a bare `{ role, content }` message); the store needs one. */
export const UNTYPED_FIELD = "agents_untyped";

/** An SDK item → the store's item body (lossless: see {@link fromStoredItem}). */
export function toStoredContent(item: unknown, param: string): JsonObject {
  const { id, ...body } = toJsonObject(item, param);
  if (body.type === EDIT_MARKER_TYPE) {
    throw new InvalidArgumentError(`${param}.type '${EDIT_MARKER_TYPE}' is reserved by Holdfast.`, { param });
  }
  if (body.type === undefined) {
    if (typeof body.role !== "string") {
      throw new InvalidArgumentError(`${param} needs a 'type' or a 'role'.`, { param });
    }
    body.type = "message";
    body[UNTYPED_FIELD] = true;
  }
  if (typeof id === "string") body[ORIGINAL_ID_FIELD] = id;
  return body;
}

/** The store's item → the SDK item it was written from. */
export function fromStoredItem(item: Item): JsonObject {
  const { [ORIGINAL_ID_FIELD]: id, [UNTYPED_FIELD]: untyped, ...body } = structuredClone(item.content);
  if (untyped === true) delete body.type;
  return typeof id === "string" ? { id, ...body } : body;
}
