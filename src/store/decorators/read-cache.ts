/**
 * An in-process read cache in front of any store. Windows and item pages are cached by
 * session version: before serving an entry we read the session head (one small read) and use
 * the entry only if the version still matches, so a write made by another instance is never
 * hidden behind a stale entry. Bounded by bytes (LRU). Values handed out are copies.
 */
import type {
  Item,
  ReadItemsQuery,
  Session,
  SessionStore,
  Window,
  WindowQuery,
  WriteOptions,
} from "../types.ts";
import { DelegatingStore } from "./delegating-store.ts";
import { ByteLru } from "./lru-bytes.ts";

export interface ReadCacheOptions {
  /** Upper bound of cached item bytes. Default 64 MiB. */
  maxBytes?: number;
}

export interface ReadCacheStats {
  hits: number;
  misses: number;
  bytes: number;
  entries: number;
}

interface Cached<T> {
  version: number;
  value: T;
}

const ENTRY_OVERHEAD_BYTES = 200;

function itemsBytes(items: Item[]): number {
  let bytes = ENTRY_OVERHEAD_BYTES;
  for (const item of items) bytes += item.bytes + ENTRY_OVERHEAD_BYTES;
  return bytes;
}

class ReadCachedStore extends DelegatingStore {
  readonly #cache: ByteLru<Cached<Window | Item[]>>;
  readonly stats: ReadCacheStats = { hits: 0, misses: 0, bytes: 0, entries: 0 };

  constructor(inner: SessionStore, options: ReadCacheOptions) {
    super(inner);
    this.#cache = new ByteLru(options.maxBytes ?? 64 << 20);
  }

  #prefix(tenant: string, id: string): string {
    return `${tenant}\u0000${id}\u0000`;
  }

  /**
   * Serves `key` from the cache when its version equals the session's current one; otherwise
   * runs `load`, which reports the version its value belongs to (null when it cannot tell).
   */
  async #cached<T extends Window | Item[]>(
    tenant: string,
    id: string,
    key: string,
    load: () => Promise<{ version: number | null; value: T }>,
  ): Promise<T> {
    const head = await this.inner.get(tenant, id);
    const fullKey = this.#prefix(tenant, id) + key;
    const hit = this.#cache.get(fullKey) as Cached<T> | undefined;
    if (hit && hit.version === head.version) {
      this.stats.hits += 1;
      return structuredClone(hit.value);
    }
    this.stats.misses += 1;
    const { version, value } = await load();
    if (version === head.version) {
      const items = Array.isArray(value) ? value : value.items;
      this.#cache.set(fullKey, { version, value: structuredClone(value) }, itemsBytes(items));
    }
    this.stats.bytes = this.#cache.bytes;
    this.stats.entries = this.#cache.size;
    return value;
  }

  override readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    const excluded = query?.excludeTypes ? JSON.stringify(query.excludeTypes) : "";
    return this.#cached(tenant, id, `w:${query?.maxTokens}:${excluded}`, async () => {
      const window = await this.inner.readWindow(tenant, id, query);
      return { version: window.sessionVersion, value: window };
    });
  }

  override readItems(tenant: string, id: string, query: ReadItemsQuery = {}): Promise<Item[]> {
    const key = `i:${query.afterSeq}:${query.beforeSeq}:${query.limit}:${query.order}`;
    return this.#cached(tenant, id, key, async () => {
      // Item pages carry no version; the page is attributable only if no write landed around it.
      const before = await this.inner.get(tenant, id);
      const items = await this.inner.readItems(tenant, id, query);
      const after = await this.inner.get(tenant, id);
      return { version: before.version === after.version ? before.version : null, value: items };
    });
  }

  #invalidate(tenant: string, id: string): void {
    this.#cache.deletePrefix(this.#prefix(tenant, id));
  }

  override async deleteItem(
    tenant: string,
    id: string,
    itemId: string,
    options?: WriteOptions,
  ): Promise<Session> {
    // Entries are version-checked anyway; dropping them frees the bytes of pages that hold the item.
    const session = await this.inner.deleteItem(tenant, id, itemId, options);
    this.#invalidate(tenant, id);
    return session;
  }

  override async delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    await this.inner.delete(tenant, id, options);
    this.#invalidate(tenant, id);
  }
}

/** Wraps `store` with a version-validated, byte-bounded read cache. */
export function withReadCache(
  store: SessionStore,
  options: ReadCacheOptions = {},
): SessionStore & { stats: ReadCacheStats } {
  return new ReadCachedStore(store, options);
}
