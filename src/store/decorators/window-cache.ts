/**
 * An incremental, in-process window cache in front of any store, for the turn engine: every
 * turn reads the conversation's window and then appends to it, so re-reading and re-parsing the
 * whole history each turn is most of a turn's store work. Here a session's window items are kept
 * parsed and extended by the appends that pass through this decorator; a read then costs one
 * read of the session's head (`head`, no JSON columns where the driver can; `get` on a store
 * without it) to validate the entry and no item read at all.
 *
 * Validation: an entry is used only when the session's version, creation time and item count
 * are exactly those the entry was built at. Every write bumps the version, so a write by another
 * instance (append, update, item removal, archive, delete and re-create) makes the entry miss.
 * An append through this decorator extends the entry only when its result proves nothing came
 * in between (its version is the entry's + 1 and its first seq the entry's last seq + 1).
 *
 * Exactness: windows are chosen by tokens over every item (excluded types included), so an
 * entry is kept only while it can answer exactly like the store: it is seeded from a read that
 * was not truncated, and dropped as soon as an excluded item carries tokens. Long conversations
 * whose window no longer reaches back to seq 1 are read through (uncached).
 *
 * Items handed out are deep-frozen and shared between reads (copying them would cost what the
 * cache saves); callers must not mutate them. The items of an answer from the store (a read
 * through, an append's result) are the store's own fresh copies: they are frozen in place and
 * kept, so the caller gets them frozen too. Bounded by bytes (LRU).
 */
import { getHeapStatistics } from "node:v8";
import type {
  AppendOptions,
  AppendResult,
  Item,
  ItemInput,
  JsonValue,
  Session,
  SessionHeadInfo,
  SessionStore,
  UpdateSessionInput,
  Window,
  WindowQuery,
  WriteOptions,
} from "../types.ts";
import { pairSafeStart } from "../window-pairs.ts";
import { DelegatingStore, readHead } from "./delegating-store.ts";
import { ByteLru } from "./lru-bytes.ts";

const MIB = 1024 * 1024;

/**
 * The default bound of a window cache: an eighth of the V8 heap limit, from 16 MiB to 256 MiB
 * (256 MiB on a machine with a few GB of memory, 88 MiB under `--max-old-space-size=512`, whose
 * heap limit is 704 MiB). It evicts the least recently used conversation, so a bound just below
 * the windows of the conversations in use misses on nearly every turn: the old fixed 64 MiB did
 * that for 4,096 conversations of ~20 turns (docs/benchmarks-gateway.md).
 */
export function defaultWindowCacheBytes(heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  return Math.min(256 * MIB, Math.max(16 * MIB, Math.floor(heapLimitBytes / 8)));
}

export interface WindowCacheOptions {
  /** Upper bound of cached item bytes. Default `defaultWindowCacheBytes()`. */
  maxBytes?: number;
}

export interface WindowCacheStats {
  hits: number;
  misses: number;
  /** Appends that extended an entry in place. */
  extended: number;
  bytes: number;
  entries: number;
}

interface Entry {
  /** `JSON.stringify` of the sorted excluded types the entry was built for. */
  exclude: string;
  excluded: ReadonlySet<string>;
  version: number;
  createdAt: number;
  itemCount: number;
  /** The session's seq high-water mark (above itemCount once items were deleted). */
  lastSeq: number;
  /** Tokens of every item of the session (excluded ones carry none, see above). */
  tokenCount: number;
  /** Every non-excluded item from seq 1, ascending, deep-frozen. */
  items: Item[];
  /** Running token total before each item (same index as `items`). */
  before: number[];
  bytes: number;
}

const ENTRY_OVERHEAD_BYTES = 200;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key in value) deepFreeze(value[key]);
  }
  return value;
}

function cacheable(query: WindowQuery): boolean {
  if (typeof query !== "object" || query === null) return false;
  const { maxTokens, excludeTypes } = query;
  if (typeof maxTokens !== "number" || !Number.isSafeInteger(maxTokens) || maxTokens < 0) return false;
  return (
    excludeTypes === undefined ||
    (Array.isArray(excludeTypes) && excludeTypes.every((t) => typeof t === "string"))
  );
}

function excludeKey(types: readonly string[] | undefined): string {
  return types && types.length > 0 ? JSON.stringify([...new Set(types)].sort()) : "";
}

class WindowCachedStore extends DelegatingStore {
  readonly #cache: ByteLru<Entry>;
  readonly stats: WindowCacheStats = { hits: 0, misses: 0, extended: 0, bytes: 0, entries: 0 };

  constructor(inner: SessionStore, options: WindowCacheOptions) {
    super(inner);
    this.#cache = new ByteLru(options.maxBytes ?? defaultWindowCacheBytes());
  }

  #key(tenant: string, id: string): string {
    return `${tenant}\u0000${id}`;
  }

  #put(key: string, entry: Entry): void {
    this.#cache.set(key, entry, entry.bytes);
    this.stats.bytes = this.#cache.bytes;
    this.stats.entries = this.#cache.size;
  }

  #drop(tenant: string, id: string): void {
    this.#cache.delete(this.#key(tenant, id));
    this.stats.bytes = this.#cache.bytes;
    this.stats.entries = this.#cache.size;
  }

  override async readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    // Anything unusual goes straight to the store, which validates it and answers with its own errors.
    if (!cacheable(query)) return this.inner.readWindow(tenant, id, query);
    const key = this.#key(tenant, id);
    const entry = this.#cache.get(key);
    const exclude = excludeKey(query.excludeTypes);
    if (!entry || entry.exclude !== exclude) {
      this.stats.misses += 1;
      return this.#readThrough(tenant, id, query, exclude, entry === undefined);
    }
    // The head (no JSON columns where the driver can) is all the validation needs.
    const session = await readHead(this.inner, tenant, id);
    if (
      session.version !== entry.version ||
      session.createdAt !== entry.createdAt ||
      session.itemCount !== entry.itemCount ||
      session.lastSeq !== entry.lastSeq
    ) {
      this.stats.misses += 1;
      return this.#readThrough(tenant, id, query, exclude, true, session);
    }
    this.stats.hits += 1;
    return windowOf(entry, query.maxTokens);
  }

  /** Reads from the store; seeds an entry when the answer covers the whole session exactly. */
  async #readThrough(
    tenant: string,
    id: string,
    query: WindowQuery,
    exclude: string,
    seed: boolean,
    known?: SessionHeadInfo,
  ): Promise<Window> {
    const session = known ?? (seed ? await readHead(this.inner, tenant, id) : undefined);
    const window = await this.inner.readWindow(tenant, id, query);
    if (!seed || !session) return window;
    const exact =
      window.sessionVersion === session.version && !window.truncated && window.tokens === session.tokenCount;
    if (!exact) {
      this.#drop(tenant, id);
      return window;
    }
    // The store's answer is its own fresh copy: frozen in place and shared, not copied again.
    for (const item of window.items) deepFreeze(item);
    const items = window.items.slice();
    const before: number[] = [];
    let running = 0;
    let bytes = ENTRY_OVERHEAD_BYTES;
    for (const item of items) {
      before.push(running);
      running += item.tokens;
      bytes += item.bytes + ENTRY_OVERHEAD_BYTES;
    }
    this.#put(this.#key(tenant, id), {
      exclude,
      excluded: new Set(query.excludeTypes ?? []),
      version: session.version,
      createdAt: session.createdAt,
      itemCount: session.itemCount,
      lastSeq: session.lastSeq,
      tokenCount: session.tokenCount,
      items,
      before,
      bytes,
    });
    return window;
  }

  override async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const result = await this.inner.append(tenant, id, items, options);
    const key = this.#key(tenant, id);
    const entry = this.#cache.get(key);
    if (!entry) return result;
    const follows =
      !result.replayed && result.version === entry.version + 1 && result.firstSeq === entry.lastSeq + 1;
    if (!follows || !this.#extend(entry, result)) this.#drop(tenant, id);
    else {
      this.stats.extended += 1;
      this.#put(key, entry);
    }
    return result;
  }

  /** Adds an append's items to `entry`; false when the entry can no longer be exact. */
  #extend(entry: Entry, result: AppendResult): boolean {
    const added: Item[] = [];
    let tokens = entry.tokenCount;
    const before: number[] = [];
    let bytes = 0;
    for (const item of result.items) {
      if (entry.excluded.has(item.type)) {
        if (item.tokens !== 0) return false;
        continue;
      }
      added.push(deepFreeze(item));
      before.push(tokens);
      tokens += item.tokens;
      bytes += item.bytes + ENTRY_OVERHEAD_BYTES;
    }
    entry.items.push(...added);
    entry.before.push(...before);
    entry.version = result.version;
    entry.itemCount += result.items.length;
    entry.lastSeq = result.lastSeq;
    entry.tokenCount = tokens;
    entry.bytes += bytes;
    return true;
  }

  override async update(
    tenant: string,
    id: string,
    patch: UpdateSessionInput,
    options?: WriteOptions,
  ): Promise<Session> {
    try {
      return await this.inner.update(tenant, id, patch, options);
    } finally {
      this.#drop(tenant, id);
    }
  }

  override async patchState(
    tenant: string,
    id: string,
    patch: JsonValue,
    options?: WriteOptions,
  ): Promise<Session> {
    try {
      return await this.inner.patchState(tenant, id, patch, options);
    } finally {
      this.#drop(tenant, id);
    }
  }

  override async deleteItem(
    tenant: string,
    id: string,
    itemId: string,
    options?: WriteOptions,
  ): Promise<Session> {
    try {
      return await this.inner.deleteItem(tenant, id, itemId, options);
    } finally {
      this.#drop(tenant, id);
    }
  }

  override async delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    try {
      await this.inner.delete(tenant, id, options);
    } finally {
      this.#drop(tenant, id);
    }
  }
}

/** The window the store would answer for `maxTokens`, computed from a complete entry. */
function windowOf(entry: Entry, maxTokens: number): Window {
  const floor = entry.tokenCount - maxTokens;
  // An item is inside the range when the running total before it reaches the floor (driver.ts).
  let first = 0;
  if (floor > 0) {
    let lo = 0;
    let hi = entry.before.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (entry.before[mid]! >= floor) hi = mid;
      else lo = mid + 1;
    }
    first = lo;
  }
  const range = first === 0 ? entry.items.slice() : entry.items.slice(first);
  const start = pairSafeStart(range);
  const kept = start === 0 ? range : range.slice(start);
  let tokens = 0;
  for (const item of kept) tokens += item.tokens;
  return {
    items: kept,
    tokens,
    fromSeq: kept[0]?.seq ?? 0,
    truncated: start > 0 || (floor > 0 && entry.itemCount > 0),
    sessionVersion: entry.version,
  };
}

/** Wraps `store` with an incremental, version-validated, byte-bounded window cache. */
export function withWindowCache(
  store: SessionStore,
  options: WindowCacheOptions = {},
): SessionStore & { stats: WindowCacheStats } {
  return new WindowCachedStore(store, options);
}
