/**
 * Reading an archived session's items where they lie, in its archive, without restoring it:
 * for views that aggregate over many sessions (the dashboard's Usage) and must count archived
 * sessions without undoing the sweeper's work. A read through the served store (`withArchives`)
 * would restore each one.
 */
import type { Item } from "../store/types.ts";
import type { ArchiveBackend } from "./archive-backend.ts";

/** An archived session's items, oldest first; `not_found` when it has no archive, `archive_corrupt` when damaged. */
export type ArchivedItemsReader = (tenant: string, id: string) => Promise<Item[]>;

/**
 * Reads from `backend`. An archive holds the items as the store under the served one held them:
 * with encryption at rest they are sealed, and `open` (the encrypting store's `openItems`) turns
 * them back into plaintext.
 */
export function archivedItemsReader(
  backend: ArchiveBackend,
  open?: (tenant: string, id: string, items: Item[]) => Promise<Item[]>,
): ArchivedItemsReader {
  return async (tenant, id) => {
    const { items } = await backend.read(tenant, id);
    return open ? open(tenant, id, items) : items;
  };
}
