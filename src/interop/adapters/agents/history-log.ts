/**
 * The Agents SDK wants a mutable list (pop, clear, replace a suffix); a Holdfast session is an
 * append-only log. We bridge them with *edit markers*: an item of type
 * `holdfast_history_edit` that says "the last N visible items are gone" (or "everything before
 * me is gone"). A pop or a suffix replacement is then ONE atomic append (marker + replacement)
 * carrying the store's operation id and expectedVersion, and nothing stored is ever deleted.
 *
 * The visible history is the log replayed like a text with backspaces, which can be computed
 * backwards from the newest item: a marker adds its count to a skip counter, an ordinary item
 * is either skipped (counter > 0) or visible; a clear marker ends the walk. So reading the last
 * `limit` items only reads as far back as needed.
 */
import { InvalidArgumentError } from "../../../store/errors.ts";
import type { Item, ItemInput, JsonObject } from "../../../store/types.ts";
import { toJsonObject } from "../json.ts";

/** Item type of an edit marker. */
export const EDIT_MARKER_TYPE = "holdfast_history_edit";
/** Where the SDK item's own `id` is kept (the store owns the item `id` and requires it unique). */
export const ORIGINAL_ID_FIELD = "agents_item_id";
/** Set when the SDK item had no `type` (a bare `{ role, content }` message); the store needs one. */
export const UNTYPED_FIELD = "agents_untyped";

/** An edit marker as stored. `drop: -1` clears everything before it. */
export interface EditMarker extends JsonObject {
  type: typeof EDIT_MARKER_TYPE;
  drop: number;
}

export function dropMarker(count: number): EditMarker {
  return { type: EDIT_MARKER_TYPE, drop: count };
}

export function clearMarker(): EditMarker {
  return { type: EDIT_MARKER_TYPE, drop: -1 };
}

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

/** Item inputs for one write, with deterministic ids when the write carries an operation id. */
export function toItemInputs(contents: JsonObject[], idPrefix?: string): ItemInput[] {
  return contents.map((content, index) =>
    idPrefix === undefined ? { content } : { id: `${idPrefix}_${index}`, content },
  );
}

/**
 * Walks a log page by page from the newest item and collects visible items.
 * `readPage(beforeSeq)` returns items with seq < beforeSeq, newest first (empty when exhausted).
 */
export async function collectVisibleTail(
  newestSeq: number,
  limit: number,
  readPage: (beforeSeq: number) => Promise<Item[]>,
): Promise<Item[]> {
  const visible: Item[] = [];
  let skip = 0;
  let before = newestSeq + 1;
  while (visible.length < limit && before > 1) {
    const page = await readPage(before);
    if (page.length === 0) break;
    for (const item of page) {
      before = item.seq;
      if (item.type === EDIT_MARKER_TYPE) {
        const drop = item.content.drop;
        if (drop === -1) return visible.reverse();
        if (typeof drop === "number" && drop > 0) skip += drop;
        continue;
      }
      if (skip > 0) skip--;
      else {
        visible.push(item);
        if (visible.length >= limit) break;
      }
    }
  }
  return visible.reverse();
}
