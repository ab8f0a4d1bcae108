/**
 * An archived session's items for the dashboard's scans (Usage, the Sessions model filter),
 * read without restoring it: the served store restores a session it reads, which would undo the
 * sweeper's work for every archived session a list or a summary looked at.
 */
import type { ArchivedItemsReader } from "../lifecycle/archive-peek.ts";
import { isHoldfastError } from "../store/errors.ts";
import type { Item, Session, SessionStore } from "../store/types.ts";

const PAGE = 1000;

/**
 * The items of a session whose status is `archived` but whose items are still in the store (a
 * caller set the status): read up to its item count, so no read comes back empty, which the
 * served store would take for a stub to restore.
 */
async function itemsKeptInStore(store: SessionStore, tenant: string, session: Session): Promise<Item[]> {
  const items: Item[] = [];
  let afterSeq = 0;
  for (let left = session.itemCount; left > 0; ) {
    const page = await store.readItems(tenant, session.id, { afterSeq, limit: Math.min(PAGE, left) });
    if (page.length === 0) break;
    items.push(...page);
    left -= page.length;
    afterSeq = page.at(-1)!.seq;
  }
  return items;
}

/** The newest `count` items kept in the store, oldest first: one read, never empty while any is there. */
async function newestKeptInStore(
  store: SessionStore,
  tenant: string,
  session: Session,
  count: number,
): Promise<Item[]> {
  const limit = Math.min(count, session.itemCount);
  return (await store.readItems(tenant, session.id, { order: "desc", limit })).reverse();
}

function isMissingOrDamaged(error: unknown): boolean {
  return isHoldfastError(error) && (error.code === "not_found" || error.code === "archive_corrupt");
}

/**
 * An archived session's items (oldest first; only the newest `newest` when given) without
 * restoring it: from its archive, or from the store when it has none because a caller set the
 * status (the items never left); `null` when they cannot be read that way — no `read` given, or
 * an archive missing or damaged.
 */
export async function archivedSessionItems(
  store: SessionStore,
  tenant: string,
  session: Session,
  read: ArchivedItemsReader | undefined,
  options: { newest?: number } = {},
): Promise<Item[] | null> {
  if (session.itemCount === 0) return [];
  if (!read) return null;
  const { newest } = options;
  try {
    const items = await read(tenant, session.id);
    return newest === undefined ? items : items.slice(-newest);
  } catch (error) {
    if (!isMissingOrDamaged(error)) throw error;
  }
  try {
    // A stub whose archive is gone answers not_found here (its restore fails): nothing is changed.
    const items =
      newest === undefined
        ? await itemsKeptInStore(store, tenant, session)
        : await newestKeptInStore(store, tenant, session, newest);
    return items.length > 0 ? items : null;
  } catch (error) {
    if (!isMissingOrDamaged(error)) throw error;
    return null;
  }
}
