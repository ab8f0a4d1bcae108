/**
 * Items the source deleted after `migrate` copied them. The copy reads the source's items in seq
 * order, so an item deleted once its page was appended stays in the target: the copy then holds
 * one item the source no longer has, and verification would call it a mismatch although the copy
 * was faithful when made. The item ids alone cannot tell such an item from one written to the
 * target since (an app already on the target, a catch-up run after cut-over), so they are removed
 * only when the caller asks (`holdfast migrate --prune-deleted`); otherwise they stay and are named.
 */
import type { Item, SessionStore } from "../store/types.ts";

async function* itemsOf(store: SessionStore, tenant: string, id: string): AsyncGenerator<Item> {
  const page = 1000;
  for (let after = 0; ; ) {
    const items = await store.readItems(tenant, id, { afterSeq: after, limit: page });
    yield* items;
    if (items.length < page) return;
    after = items.at(-1)!.seq;
  }
}

/**
 * The ids of the items the target's copy of session `id` holds and the source no longer does;
 * `null` when there are none, or when they are more than the source has ever deleted
 * (`lastSeq - itemCount`, its seqs never reused): then they cannot all have come from the source.
 */
export async function itemsDeletedInSource(
  source: SessionStore,
  target: SessionStore,
  tenant: string,
  id: string,
): Promise<string[] | null> {
  const held = new Set<string>();
  for await (const item of itemsOf(source, tenant, id)) held.add(item.id);
  const gone: string[] = [];
  for await (const item of itemsOf(target, tenant, id)) if (!held.has(item.id)) gone.push(item.id);
  if (gone.length === 0) return null;
  const now = await source.get(tenant, id);
  if (gone.length > now.lastSeq - now.itemCount) return null;
  return gone;
}
