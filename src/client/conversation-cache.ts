/**
 * The conversations the user opened, kept in offline storage under a byte budget with
 * least-recently-used eviction. The index (sizes and recency) is one record, so eviction never
 * has to read the conversations themselves. Conversations with queued writes are never evicted:
 * their version is the base the queue is sent against.
 */
import type { OfflineStorage, StorageTransaction } from "./storage/types.ts";
import type { Conversation, ConversationItem } from "./types.ts";

/** One cached conversation: its head and its items in ascending order. */
export interface CachedConversation {
  conversation: Conversation;
  items: ConversationItem[];
  /** The version the items were read at (the base for `If-Match`). */
  version: number;
}

interface CacheIndex {
  tick: number;
  entries: Record<string, { bytes: number; used: number }>;
}

const INDEX_KEY = "cache-index";
const utf8 = new TextEncoder();
const PREFIX = "c/";

export interface ConversationCacheOptions {
  storage: OfflineStorage;
  /** Budget for all cached conversations, in UTF-8 bytes of their JSON (default 5 MiB). */
  budgetBytes?: number;
  /** Conversations that must stay (those with queued writes). */
  isPinned?: (conversationId: string) => boolean;
}

export class ConversationCache {
  readonly #storage: OfflineStorage;
  readonly #budget: number;
  readonly #isPinned: (id: string) => boolean;
  // This process's changes go one at a time (the fallback without `storage.update` needs it).
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: ConversationCacheOptions) {
    const budget = options.budgetBytes ?? 5 * 1024 * 1024;
    if (!Number.isSafeInteger(budget) || budget < 1) {
      throw new Error("budgetBytes must be a positive integer number of bytes.");
    }
    this.#storage = options.storage;
    this.#budget = budget;
    this.#isPinned = options.isPinned ?? (() => false);
  }

  /** Bytes the cache holds now, by its index. */
  async usedBytes(): Promise<number> {
    const index = await this.#readIndex();
    return Object.values(index.entries).reduce((sum, entry) => sum + entry.bytes, 0);
  }

  /** Cached conversation ids, most recently used first. */
  async ids(): Promise<string[]> {
    const index = await this.#readIndex();
    return Object.entries(index.entries)
      .sort((a, b) => b[1].used - a[1].used)
      .map(([id]) => id);
  }

  /** The cached conversation (and marks it used), or `undefined`. */
  get(id: string): Promise<CachedConversation | undefined> {
    return this.#serial(async () => {
      const record = await this.#storage.get<CachedConversation>(PREFIX + id);
      if (record) {
        await this.#updateIndex((index) => {
          const entry = index.entries[id];
          if (!entry) return false;
          entry.used = ++index.tick;
          return true;
        });
      }
      return record;
    });
  }

  /** Stores a conversation, then evicts least-recently-used ones until the budget holds. */
  put(record: CachedConversation): Promise<void> {
    return this.#serial(async () => {
      const id = record.conversation.id;
      // Bytes of UTF-8, as the budget says: `.length` counts UTF-16 units, a third of the bytes of CJK text.
      const bytes = utf8.encode(JSON.stringify(record)).byteLength;
      await this.#storage.set(PREFIX + id, record);
      await this.#updateIndex((index, values) => {
        index.entries[id] = { bytes, used: ++index.tick };
        let total = Object.values(index.entries).reduce((sum, entry) => sum + entry.bytes, 0);
        const victims = Object.entries(index.entries)
          .filter(([other]) => other !== id && !this.#isPinned(other))
          .sort((a, b) => a[1].used - b[1].used);
        for (const [victim, entry] of victims) {
          if (total <= this.#budget) break;
          values.delete(PREFIX + victim);
          delete index.entries[victim];
          total -= entry.bytes;
        }
        return true;
      });
    });
  }

  /** Forgets one conversation (deleted on the server). */
  remove(id: string): Promise<void> {
    return this.#serial(() =>
      this.#updateIndex((index, values) => {
        values.delete(PREFIX + id);
        delete index.entries[id];
        return true;
      }),
    );
  }

  /** Kept for callers from when the index was held in memory: nothing is, so nothing to drop. */
  reset(): void {}

  async #readIndex(): Promise<CacheIndex> {
    return (await this.#storage.get<CacheIndex>(INDEX_KEY)) ?? emptyIndex();
  }

  /**
   * Applies `change` to the index as stored now, with the record deletions it makes, in one
   * step: several processes share one file storage, and a copy of the index read earlier would
   * drop what the others added since (never evicted, missing from `ids()`). `change` returns
   * whether it changed anything.
   */
  async #updateIndex(change: (index: CacheIndex, values: StorageTransaction) => boolean): Promise<void> {
    const apply = (values: StorageTransaction): void => {
      const index = values.get<CacheIndex>(INDEX_KEY) ?? emptyIndex();
      if (change(index, values)) values.set(INDEX_KEY, index);
    };
    if (this.#storage.update) {
      await this.#storage.update(apply);
      return;
    }
    // An adapter without an atomic update: read, change, write back (safe while one process writes).
    const index = await this.#storage.get(INDEX_KEY);
    const writes = new Map<string, { value: unknown } | null>();
    apply({
      get: <T>(key: string) => (key === INDEX_KEY ? structuredClone(index) : undefined) as T | undefined,
      set: (key, value) => writes.set(key, { value }),
      delete: (key) => writes.set(key, null),
    });
    for (const [key, write] of writes) {
      if (write === null) await this.#storage.delete(key);
      else await this.#storage.set(key, write.value);
    }
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(task);
    this.#chain = next.catch(() => {});
    return next;
  }
}

function emptyIndex(): CacheIndex {
  return { tick: 0, entries: {} };
}
