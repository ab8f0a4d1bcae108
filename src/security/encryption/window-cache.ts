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
 *
 * An entry holds the whole range the store chose (every item, as the store's window returns it
 * without exclusions); items of the query's excluded types are kept without their text, only to
 * carry the range forward, and are left out of the answer — as the store leaves them out.
 */
import type { Item, Window } from "../../store/types.ts";
import { isCallItem, isOutputItem, pairSafeStart } from "../../store/window-pairs.ts";

/** An item without its content, plus its plaintext JSON (null: excluded) and clear call id. */
export interface CachedItem {
  meta: Omit<Item, "content">;
  type: string;
  callId: string | null;
  text: string | null;
}

interface Entry {
  version: number;
  createdAt: number;
  itemCount: number;
  maxTokens: number;
  /** The query's excluded types, as a key ("" when none), and as a set. */
  exclude: string;
  excluded: ReadonlySet<string>;
  /**
   * The window is `range[head..]`: items that left it are only skipped, and compacted away once
   * they are most of the array, so carrying the window over an append does not move every item.
   */
  range: CachedItem[];
  head: number;
  /** Sum of the window's tokens, and how many of its items are tool calls or outputs. */
  tokens: number;
  tools: number;
  truncated: boolean;
  bytes: number;
}

export interface WindowKey {
  maxTokens: number;
  /** From `excludeKey`. */
  exclude: string;
}

/**
 * The cache key of a (validated) `excludeTypes`: "" when none, or null when the cache cannot
 * serve it — a call or output type changes how the store pairs the window's head.
 */
export function excludeKey(types: readonly string[]): string | null {
  if (types.length === 0) return "";
  if (types.some((t) => isCallItem(t) || isOutputItem(t))) return null;
  return JSON.stringify(types);
}

export interface SessionHead {
  version: number;
  createdAt: number;
}

const ITEM_OVERHEAD_BYTES = 160;

/** A cache record of an item (copies its fields: the caller keeps the item); text null: excluded. */
export function cachedItem(item: Item, text: string | null): CachedItem {
  const callId = typeof item.content.call_id === "string" ? item.content.call_id : null;
  // Field by field (not a rest spread): one object shape, cheap to build and to read back.
  const meta = {
    seq: item.seq,
    id: item.id,
    type: item.type,
    role: item.role,
    status: item.status,
    tokens: item.tokens,
    bytes: item.bytes,
    turnId: item.turnId,
    createdAt: item.createdAt,
  };
  return { meta, type: item.type, callId, text };
}

function itemBytes(item: CachedItem): number {
  return 2 * (item.text?.length ?? 0) + ITEM_OVERHEAD_BYTES;
}

function isTool(item: CachedItem): boolean {
  return isCallItem(item.type) || isOutputItem(item.type);
}

/** Tokens, bytes and tool items of `range[from..]`. */
function measure(range: readonly CachedItem[], from = 0): { tokens: number; bytes: number; tools: number } {
  let tokens = 0;
  let bytes = 0;
  let tools = 0;
  for (let i = from; i < range.length; i++) {
    const item = range[i] as CachedItem;
    tokens += item.meta.tokens;
    bytes += itemBytes(item);
    if (isTool(item)) tools++;
  }
  return { tokens, bytes, tools };
}

/** The window a query sees of `range[from..]`: excluded items left out, each item a fresh object. */
export function windowOf(
  range: readonly CachedItem[],
  from: number,
  truncated: boolean,
  sessionVersion: number,
): Window {
  const items: Item[] = [];
  let tokens = 0;
  for (let i = from; i < range.length; i++) {
    const cached = range[i] as CachedItem;
    if (cached.text === null) continue;
    const m = cached.meta;
    items.push({
      seq: m.seq,
      id: m.id,
      type: m.type,
      role: m.role,
      status: m.status,
      content: JSON.parse(cached.text),
      tokens: m.tokens,
      bytes: m.bytes,
      turnId: m.turnId,
      createdAt: m.createdAt,
    });
    tokens += cached.meta.tokens;
  }
  return { items, tokens, fromSeq: items[0]?.seq ?? 0, truncated, sessionVersion };
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

  /** A fresh window when the cached one belongs to exactly this head and query. */
  get(tenant: string, sessionId: string, query: WindowKey, head: SessionHead): Window | undefined {
    const key = this.#key(tenant, sessionId);
    const entry = this.#entries.get(key);
    if (
      entry === undefined ||
      entry.version !== head.version ||
      entry.createdAt !== head.createdAt ||
      entry.maxTokens !== query.maxTokens ||
      entry.exclude !== query.exclude
    ) {
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return windowOf(entry.range, entry.head, entry.truncated, entry.version);
  }

  /** Keeps a range read at `head` (the caller checked the window's sessionVersion === head.version). */
  set(
    tenant: string,
    sessionId: string,
    query: WindowKey,
    head: SessionHead & { itemCount: number },
    window: { range: CachedItem[]; truncated: boolean },
  ): void {
    if (this.#maxBytes === 0) return;
    this.#put(this.#key(tenant, sessionId), {
      version: head.version,
      createdAt: head.createdAt,
      itemCount: head.itemCount,
      maxTokens: query.maxTokens,
      exclude: query.exclude,
      excluded: new Set(query.exclude === "" ? [] : (JSON.parse(query.exclude) as string[])),
      range: window.range,
      head: 0,
      ...measure(window.range),
      truncated: window.truncated,
    });
  }

  /**
   * Carries the entry forward over an append this process made (never for a session with deleted
   * items: its count is below its last seq, so the first-seq check fails), as the store computes a window:
   * the longest suffix of every item within the budget, then no orphan tool output at its head.
   * Appends only move a range's start forward, so the new range is a suffix of the cached one
   * plus the appended items (`excluded` tells which of those the entry's query leaves out).
   * The entry is updated in place (its range is this cache's own array, never handed out): a
   * hot session's turn costs the appended items, not a copy of the whole window.
   * Dropped when anything else may have changed. True when the entry was carried forward.
   */
  extend(
    tenant: string,
    sessionId: string,
    result: { version: number; firstSeq: number; lastSeq: number },
    appended: Item[],
    texts: readonly string[],
  ): boolean {
    const key = this.#key(tenant, sessionId);
    const entry = this.#entries.get(key);
    if (!entry) return false;
    if (
      result.version !== entry.version + 1 ||
      result.firstSeq !== entry.itemCount + 1 ||
      result.lastSeq !== entry.itemCount + appended.length
    ) {
      this.#drop(key);
      return false;
    }
    const range = entry.range;
    const before = entry.bytes;
    let { head, tokens, bytes, tools } = entry;
    for (let i = 0; i < appended.length; i++) {
      const item = appended[i] as Item;
      const added = cachedItem(item, entry.excluded.has(item.type) ? null : (texts[i] as string));
      range.push(added);
      tokens += added.meta.tokens;
      bytes += itemBytes(added);
      if (isTool(added)) tools++;
    }
    // The longest suffix within the budget: drop from the head until it fits (tokens ≥ 0).
    while (tokens > entry.maxTokens && head < range.length) {
      const dropped = range[head++] as CachedItem;
      tokens -= dropped.meta.tokens;
      bytes -= itemBytes(dropped);
      if (isTool(dropped)) tools--;
    }
    // The cached range already starts where the store's does or after its orphan-output cut;
    // pairing the rest again gives the store's answer (an orphan stays an orphan). Without tool
    // items there is nothing to pair.
    const safe = tools === 0 ? head : pairSafeStart(range, head);
    if (safe > head) {
      head = safe;
      ({ tokens, bytes, tools } = measure(range, head));
    }
    // Older items are left out once the range starts after the cached one or pairing cuts it.
    entry.truncated = entry.truncated || head > entry.head;
    if (head >= 64 && 2 * head >= range.length) {
      entry.range = range.slice(head);
      head = 0;
    }
    entry.head = head;
    entry.version = result.version;
    entry.itemCount = result.lastSeq;
    entry.tokens = tokens;
    entry.bytes = bytes;
    entry.tools = tools;
    // Most recently used now; over budget, the oldest entries go (this one last, if alone too big).
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#bytes += bytes - before;
    if (bytes > this.#maxBytes) this.#drop(key);
    this.#evict();
    return this.#entries.has(key);
  }

  drop(tenant: string, sessionId: string): void {
    this.#drop(this.#key(tenant, sessionId));
  }

  #put(key: string, entry: Entry): void {
    this.#drop(key);
    if (entry.bytes > this.#maxBytes) return;
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    this.#evict();
  }

  /** Drops least recently used entries until the cache is within its budget. */
  #evict(): void {
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
