/**
 * Framework histories are mutable lists (pop, clear, replace a suffix, regenerate the last
 * answer); a Holdfast session is an append-only log. The adapters bridge them with *edit
 * markers*: an item of type `holdfast_history_edit` that says "the last N visible items are
 * gone" (or "everything before me is gone"). Any edit is then ONE atomic append (marker +
 * replacement) that can carry the store's operation id and expectedVersion, and nothing stored
 * is ever deleted.
 *
 * The visible history is the log replayed like a text with backspaces, which can be computed
 * backwards from the newest item: a marker adds its count to a skip counter, an ordinary item
 * is either skipped (counter > 0) or visible; a clear marker ends the walk. So reading the last
 * `limit` items only reads as far back as needed.
 */
import type { Item, ItemInput, JsonObject, SessionStore } from "../../store/types.ts";

/** Item type of an edit marker. */
export const EDIT_MARKER_TYPE = "holdfast_history_edit";
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

/** The visible items of a session up to `newestSeq` (its lastSeq when read), oldest first. */
export function readVisibleTail(
  store: SessionStore,
  tenant: string,
  sessionId: string,
  newestSeq: number,
  limit = Number.POSITIVE_INFINITY,
  pageSize = 200,
): Promise<Item[]> {
  return collectVisibleTail(newestSeq, limit, (beforeSeq) =>
    store.readItems(tenant, sessionId, { beforeSeq, order: "desc", limit: pageSize }),
  );
}

/** Item inputs for one write, with deterministic ids when the write carries an operation id. */
export function toItemInputs(contents: JsonObject[], idPrefix?: string): ItemInput[] {
  return contents.map((content, index) =>
    idPrefix === undefined ? { content } : { id: `${idPrefix}_${index}`, content },
  );
}
