/**
 * The read path of `withEncryption`: opens sealed item bodies in place, from the in-process
 * plaintext cache when the stored blob matches, otherwise with one key lookup for all misses;
 * an append's own items from the plaintext it sealed.
 */
import type { Item, JsonObject } from "../../store/types.ts";
import { ENC_FIELD, type KeyLookup, openItemText } from "./content-crypto.ts";
import type { SealedText } from "./item-sealing.ts";
import type { PlaintextCache } from "./plaintext-cache.ts";

/** Runs a decryption with the session's keys (retrying with fresh keys is the caller's business). */
export type Opening = (run: (lookup: KeyLookup) => Promise<void>) => Promise<void>;

/**
 * The items an append just sealed (`sealed[i]` for result item `i`), opened in place from the
 * plaintext in hand, with `texts` filled. Nothing is touched, and false is returned, unless every
 * item carries exactly the blob sealed for it (any other bytes must be decrypted).
 */
export function openSealed(
  items: Item[],
  sealed: readonly (SealedText | undefined)[],
  texts: string[],
): boolean {
  if (items.length !== sealed.length) return false;
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as Item;
    const own = sealed[index];
    if (own === undefined || own.id !== item.id || own.blob !== item.content[ENC_FIELD]) return false;
  }
  for (let index = 0; index < items.length; index++) {
    const text = (sealed[index] as SealedText).text;
    (items[index] as Item).content = JSON.parse(text) as JsonObject;
    texts[index] = text;
  }
  return true;
}

/**
 * Decrypts items in place (the inner store hands out fresh objects): cached plaintext first,
 * then one key lookup for the misses. With `texts`, fills it with each item's plaintext JSON.
 */
export async function openItems(
  plain: PlaintextCache,
  opening: Opening,
  tenant: string,
  sessionId: string,
  items: Item[],
  texts?: string[],
): Promise<Item[]> {
  const cached = plain.session(tenant, sessionId);
  const misses: { index: number; blob: string }[] = [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as Item;
    const blob = item.content[ENC_FIELD];
    if (typeof blob !== "string") {
      if (texts) texts[index] = JSON.stringify(item.content);
      continue;
    }
    const hit = cached?.get(item.id);
    // The exact stored blob must match: any other bytes under this item id are a miss.
    if (hit !== undefined && hit.blob === blob) {
      item.content = JSON.parse(hit.text) as JsonObject;
      if (texts) texts[index] = hit.text;
    } else misses.push({ index, blob });
  }
  if (misses.length === 0) return items;
  await opening(async (lookup) => {
    for (const { index, blob } of misses) {
      const item = items[index] as Item;
      const text = await openItemText(item, blob, lookup, tenant);
      plain.set(tenant, sessionId, item.id, blob, text);
      item.content = JSON.parse(text) as JsonObject;
      if (texts) texts[index] = text;
    }
  });
  return items;
}
