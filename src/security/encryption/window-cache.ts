/**
 * Decrypted windows kept per session version, so a hot session's window is not re-read,
 * re-parsed twice (stored form, then plaintext) and looked up item by item on every turn.
 *
 * An entry is used only when the session's current head (one small read) has the entry's version
 * and creation time: every mutation bumps the version, and a session deleted and re-created under
 * the same id has another creation time. After an append made through this decorator the entry
 * is carried forward to the new version, but only when that append was the only change
 * (version + 1, first seq right after the known end); otherwise it is dropped. Handed-out items are
 * always fresh objects (parsed from the cached JSON text). LRU by bytes; delete drops a session.
 */
import type { Item, Window } from "../../store/types.ts";
import { pairSafeStart } from "../../store/window-pairs.ts";

/** An item without its content, plus its plaintext JSON and clear call id (for pairing). */
export interface CachedItem {
  meta: Omit<Item, "content">;
  type: string;
  callId: string | null;
  text: string;
}

interface Entry {
  version: number;
  createdAt: number;
  itemCount: number;
  maxTokens: number;
  /** The query's excluded types, as a key ("" when none). */
  exclude: string;
  items: CachedItem[];
  truncated: boolean;
  bytes: number;
}

/**
 * The cache key of a query's `excludeTypes` ("" when none), or null when it is not a list of
 * strings: such a query goes to the store, which rejects it.
 */
export function excludeKey(types: unknown): string | null {
  if (types === undefined) return "";
  if (!Array.isArray(types) || !types.every((t) => typeof t === "string")) return null;
  return types.length === 0 ? "" : JSON.stringify(types);
}

export interface SessionHead {
  version: number;
  createdAt: number;
}

const ITEM_OVERHEAD_BYTES = 160;

/** A cache record of a decrypted item (copies its fields: the caller keeps the item). */
export function cachedItem(item: Item, text: string): CachedItem {
  const { content, ...meta } = item;
  const callId = typeof content.call_id === "string" ? content.call_id : null;
  return { meta, type: item.type, callId, text };
}

function itemsBytes(items: readonly CachedItem[]): number {
  let bytes = 0;
  for (const item of items) bytes += 2 * item.text.length + ITEM_OVERHEAD_BYTES;
  return bytes;
}

export class WindowCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  /** `maxBytes` 0 disables the cache. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get enabled(): boolean {
    return this.#maxBytes > 0;
  }

  #key(tenant: string, sessionId: string): string {
    return `${tenant}\u0000${sessionId}`;
  }

  /** A fresh window when the cached one belongs to exactly this head and budget. */
  get(
    tenant: string,
    sessionId: string,
    maxTokens: number,
    exclude: string,
    head: SessionHead,
  ): Window | undefined {
    const key = this.#key(tenant, sessionId);
    const entry = this.#entries.get(key);
    if (
      entry === undefined ||
      entry.version !== head.version ||
      entry.createdAt !== head.createdAt ||
      entry.maxTokens !== maxTokens ||
      entry.exclude !== exclude
    ) {
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    const items = new Array<Item>(entry.items.length);
    let tokens = 0;
    for (let i = 0; i < items.length; i++) {
      const cached = entry.items[i] as CachedItem;
      items[i] = { ...cached.meta, content: JSON.parse(cached.text) } as Item;
      tokens += cached.meta.tokens;
    }
    return {
      items,
      tokens,
      fromSeq: items[0]?.seq ?? 0,
      truncated: entry.truncated,
      sessionVersion: entry.version,
    };
  }

  /** Keeps a window read at `head` (the caller checked window.sessionVersion === head.version). */
  set(
    tenant: string,
    sessionId: string,
    query: { maxTokens: number; exclude: string },
    head: SessionHead & { itemCount: number },
    window: { items: CachedItem[]; truncated: boolean },
  ): void {
    if (this.#maxBytes === 0) return;
    this.#put(this.#key(tenant, sessionId), {
      version: head.version,
      createdAt: head.createdAt,
      itemCount: head.itemCount,
      maxTokens: query.maxTokens,
      exclude: query.exclude,
      items: window.items,
      truncated: window.truncated,
      bytes: itemsBytes(window.items),
    });
  }

  /**
   * Carries the entry forward over an append this process made: the new window is a suffix of
   * the cached one plus the appended items, computed as the store does (longest suffix within
   * the budget, then no orphan tool output at its start). Dropped when anything else may have
   * changed or when the new window could reach back past what is cached.
   */
  extend(
    tenant: string,
    sessionId: string,
    result: { version: number; firstSeq: number; lastSeq: number },
    appended: CachedItem[],
  ): void {
    const key = this.#key(tenant, sessionId);
    const entry = this.#entries.get(key);
    if (!entry) return;
    // With excluded types the cached items are not the whole range; only the store can extend it.
    if (
      entry.exclude !== "" ||
      result.version !== entry.version + 1 ||
      result.firstSeq !== entry.itemCount + 1 ||
      result.lastSeq !== entry.itemCount + appended.length
    ) {
      this.#drop(key);
      return;
    }
    const all = entry.items.concat(appended);
    let start = all.length;
    let tokens = 0;
    while (start > 0) {
      const next = tokens + (all[start - 1] as CachedItem).meta.tokens;
      if (next > entry.maxTokens) break;
      tokens = next;
      start--;
    }
    // Everything cached fits and the cache does not hold the whole session: what precedes the
    // cached items (e.g. a start trimmed at an orphan output) is the store's to tell; re-read.
    if (start === 0 && entry.items.length < entry.itemCount) {
      this.#drop(key);
      return;
    }
    const raw = start === 0 ? all : all.slice(start);
    const safe = pairSafeStart(raw);
    const items = safe === 0 ? raw : raw.slice(safe);
    // As the store says it: older items were left out when the range starts after seq 1 or
    // pairing cut its head (an empty range starts after the last item).
    const rangeStart = start === 0 ? 1 : (raw[0]?.meta.seq ?? result.lastSeq + 1);
    this.#put(key, {
      version: result.version,
      createdAt: entry.createdAt,
      itemCount: result.lastSeq,
      maxTokens: entry.maxTokens,
      exclude: "",
      items,
      truncated: safe > 0 || rangeStart > 1,
      bytes: itemsBytes(items),
    });
  }

  drop(tenant: string, sessionId: string): void {
    this.#drop(this.#key(tenant, sessionId));
  }

  #put(key: string, entry: Entry): void {
    this.#drop(key);
    if (entry.bytes > this.#maxBytes) return;
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next().value as string;
      this.#drop(oldest);
    }
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#bytes -= entry.bytes;
    this.#entries.delete(key);
  }
}
