/**
 * The read path of `withEncryption`: opens sealed item bodies in place, from the in-process
 * plaintext cache when the stored blob matches, otherwise with one key lookup for all misses;
 * an append's own items from the plaintext it sealed. Every read checks where its items sit
 * against the seqs they were sealed for (`checkSealedOrder`), cache hits included: moving a row
 * to another seq keeps its id and blob, which is exactly what the cache matches on.
 */
import type { Item, JsonObject } from "../../store/types.ts";
import { DecryptionError } from "../errors.ts";
import { ENC_FIELD, type KeyLookup, openItemText, sealedSeqOf } from "./content-crypto.ts";
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
    // Where the store put it must be where it was sealed for (otherwise decrypting says why).
    if (own.seq !== item.seq) return false;
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
  // Seqs the items were sealed for (format 2 blobs), checked once every blob is authenticated.
  let sealedSeqs: (number | null)[] | undefined;
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as Item;
    const blob = item.content[ENC_FIELD];
    if (typeof blob !== "string") {
      if (texts) texts[index] = JSON.stringify(item.content);
      continue;
    }
    const sealedSeq = sealedSeqOf(blob);
    if (sealedSeq !== null) {
      sealedSeqs ??= [];
      sealedSeqs[index] = sealedSeq;
    }
    const hit = cached?.get(item.id);
    // The exact stored blob must match: any other bytes under this item id are a miss.
    if (hit !== undefined && hit.blob === blob) {
      item.content = JSON.parse(hit.text) as JsonObject;
      if (texts) texts[index] = hit.text;
    } else misses.push({ index, blob });
  }
  if (misses.length > 0) await openMisses(plain, opening, tenant, sessionId, items, misses, texts);
  if (sealedSeqs) checkSealedOrder(items, sealedSeqs);
  return items;
}

async function openMisses(
  plain: PlaintextCache,
  opening: Opening,
  tenant: string,
  sessionId: string,
  items: Item[],
  misses: readonly { index: number; blob: string }[],
  texts: string[] | undefined,
): Promise<void> {
  await opening(async (lookup) => {
    for (const { index, blob } of misses) {
      const item = items[index] as Item;
      const text = await openItemText(item, blob, lookup, tenant);
      plain.set(tenant, sessionId, item.id, blob, text);
      item.content = JSON.parse(text) as JsonObject;
      if (texts) texts[index] = text;
    }
  });
}

/** An item's stored seq and the seq it was sealed for. */
interface Placed {
  seq: number;
  sealed: number;
  id: string;
}

function moved(message: string): DecryptionError {
  return new DecryptionError(
    `${message}: rows of this session were moved to other seqs or reordered in the database.`,
  );
}

/**
 * Throws `decryption_failed` unless each item with a sealed seq (`sealedSeqs[i]` for `items[i]`,
 * authenticated) sits at or below it, and those items, in seq order, keep the order of their
 * sealed seqs. Below, not only at: a copy (`migrate`, `sessions import`) numbers items 1..n,
 * closing the gaps deleted items left, but never reorders them. So a row moved to a higher seq
 * fails on its own, and one moved lower fails with any item it jumped over.
 */
export function checkSealedOrder(
  items: readonly Item[],
  sealedSeqs: readonly (number | null | undefined)[],
): void {
  const pairs: Placed[] = [];
  for (let index = 0; index < items.length; index++) {
    const sealed = sealedSeqs[index];
    if (sealed === null || sealed === undefined) continue;
    const item = items[index] as Item;
    if (item.seq > sealed) {
      throw moved(`Item '${item.id}' is stored at seq ${item.seq} but was sealed for seq ${sealed}`);
    }
    pairs.push({ seq: item.seq, sealed, id: item.id });
  }
  if (pairs.length < 2) return;
  // Reads come back in seq order, ascending or descending; anything else is sorted first.
  if ((pairs[0] as Placed).seq > (pairs.at(-1) as Placed).seq) pairs.reverse();
  for (let i = 1; i < pairs.length; i++) {
    if ((pairs[i] as Placed).seq <= (pairs[i - 1] as Placed).seq) {
      pairs.sort((a, b) => a.seq - b.seq);
      break;
    }
  }
  for (let i = 1; i < pairs.length; i++) {
    const before = pairs[i - 1] as Placed;
    const after = pairs[i] as Placed;
    if (after.sealed <= before.sealed) {
      throw moved(
        `Items '${before.id}' (seq ${before.seq}) and '${after.id}' (seq ${after.seq}) are stored out of the order they were sealed in (seqs ${before.sealed} and ${after.sealed})`,
      );
    }
  }
}
