/**
 * The conversations the user opened, kept in offline storage under a byte budget with
 * least-recently-used eviction. The index (sizes and recency) is one record, so eviction never
 * has to read the conversations themselves. Conversations with queued writes are never evicted:
 * their version is the base the queue is sent against.
 */
import type { OfflineStorage } from "./storage/types.ts";
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
  #index: CacheIndex | null = null;
  // Index updates are read-modify-write: one at a time.
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
    const index = await this.#loadIndex();
    return Object.values(index.entries).reduce((sum, entry) => sum + entry.bytes, 0);
  }

  /** Cached conversation ids, most recently used first. */
  async ids(): Promise<string[]> {
    const index = await this.#loadIndex();
    return Object.entries(index.entries)
      .sort((a, b) => b[1].used - a[1].used)
      .map(([id]) => id);
  }

  /** The cached conversation (and marks it used), or `undefined`. */
  get(id: string): Promise<CachedConversation | undefined> {
    return this.#serial(async () => {
      const record = await this.#storage.get<CachedConversation>(PREFIX + id);
      const index = await this.#loadIndex();
      const entry = index.entries[id];
      if (record && entry) {
        entry.used = ++index.tick;
        await this.#storage.set(INDEX_KEY, index);
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
      const index = await this.#loadIndex();
      index.entries[id] = { bytes, used: ++index.tick };
      let total = Object.values(index.entries).reduce((sum, entry) => sum + entry.bytes, 0);
      const victims = Object.entries(index.entries)
        .filter(([other]) => other !== id && !this.#isPinned(other))
        .sort((a, b) => a[1].used - b[1].used);
      for (const [victim, entry] of victims) {
        if (total <= this.#budget) break;
        await this.#storage.delete(PREFIX + victim);
        delete index.entries[victim];
        total -= entry.bytes;
      }
      await this.#storage.set(INDEX_KEY, index);
    });
  }

  /** Forgets one conversation (deleted on the server). */
  remove(id: string): Promise<void> {
    return this.#serial(async () => {
      await this.#storage.delete(PREFIX + id);
      const index = await this.#loadIndex();
      delete index.entries[id];
      await this.#storage.set(INDEX_KEY, index);
    });
  }

  /** Drops the in-memory index (after the storage was cleared). */
  reset(): void {
    this.#index = null;
  }

  async #loadIndex(): Promise<CacheIndex> {
    this.#index ??= (await this.#storage.get<CacheIndex>(INDEX_KEY)) ?? { tick: 0, entries: {} };
    return this.#index;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(task);
    this.#chain = next.catch(() => {});
    return next;
  }
}
