/**
 * The durable queue of appends made while offline (or not yet acknowledged). Each entry carries
 * its idempotency key from the moment it is queued, so every retry — after a lost answer, a
 * reload, a crash — is applied by the server at most once. Keys sort in enqueue order.
 */
import type { OfflineStorage } from "./storage/types.ts";
import type { ConversationItem } from "./types.ts";

/** One queued append. */
export interface QueuedAppend {
  /** The `Idempotency-Key` (also the entry's identity). */
  key: string;
  conversationId: string;
  items: ConversationItem[];
  /** Epoch ms when the user wrote it. */
  queuedAt: number;
  /** How many times it was rebased onto a moved conversation. */
  rebases: number;
  /** Set when the server refused it for good (4xx other than 409): it waits for `retry` or `discard`. */
  error?: { status: number; code: string; message: string };
}

const PREFIX = "q/";

export class Outbox {
  readonly #storage: OfflineStorage;
  /** storage key → entry, mirrors storage; re-read by `list` (another tab may have written). */
  #entries: Map<string, QueuedAppend> | null = null;
  #counter = 0;

  constructor(storage: OfflineStorage) {
    this.#storage = storage;
  }

  async #load(fresh = false): Promise<Map<string, QueuedAppend>> {
    if (this.#entries && !fresh) return this.#entries;
    const entries = new Map<string, QueuedAppend>();
    for (const key of await this.#storage.keys(PREFIX)) {
      const entry = await this.#storage.get<QueuedAppend>(key);
      if (entry) entries.set(key, entry);
    }
    this.#entries = entries;
    return entries;
  }

  /**
   * Time first, then a per-tab counter, then randomness: sorts in enqueue order, and two tabs
   * enqueueing in the same millisecond never overwrite each other.
   */
  #storageKey(queuedAt: number): string {
    const counter = (this.#counter++ % 1_000_000).toString().padStart(6, "0");
    const random = Math.random().toString(36).slice(2, 8).padEnd(6, "0");
    return `${PREFIX}${String(queuedAt).padStart(15, "0")}-${counter}-${random}`;
  }

  /** Queues an append; resolves once it is durably stored. */
  async enqueue(entry: QueuedAppend): Promise<void> {
    const entries = await this.#load();
    const key = this.#storageKey(entry.queuedAt);
    await this.#storage.set(key, entry);
    entries.set(key, structuredClone(entry));
  }

  /** Entries in the order they were queued (copies). */
  async list(): Promise<QueuedAppend[]> {
    const entries = await this.#load(true);
    return [...entries.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([, entry]) => structuredClone(entry));
  }

  /**
   * Replaces an entry in place (same position), e.g. after a rebase or a refusal. The change
   * applies to the stored entry, re-read now: another tab or process sharing the storage may
   * have changed it, or sent and removed it — then it must stay removed, not come back.
   */
  async update(key: string, change: (entry: QueuedAppend) => QueuedAppend): Promise<void> {
    const entries = await this.#load();
    for (const [storageKey, entry] of entries) {
      if (entry.key !== key) continue;
      const next = await this.#changeStored(storageKey, change);
      if (next === undefined) entries.delete(storageKey);
      else entries.set(storageKey, next);
      return;
    }
  }

  /**
   * Applies `change` to the stored entry and stores the result; `undefined` when it is gone.
   * In one step when the storage can (`update`): with a separate read and write, another process
   * could send and remove the entry in between, and the write would bring it back.
   */
  async #changeStored(
    storageKey: string,
    change: (entry: QueuedAppend) => QueuedAppend,
  ): Promise<QueuedAppend | undefined> {
    if (this.#storage.update) {
      return this.#storage.update((values) => {
        const stored = values.get<QueuedAppend>(storageKey);
        if (stored === undefined) return undefined;
        const next = change(stored);
        values.set(storageKey, next);
        return next;
      });
    }
    const stored = await this.#storage.get<QueuedAppend>(storageKey);
    if (stored === undefined) return undefined;
    const next = change(stored);
    await this.#storage.set(storageKey, next);
    return next;
  }

  async remove(key: string): Promise<void> {
    const entries = await this.#load();
    for (const [storageKey, entry] of entries) {
      if (entry.key !== key) continue;
      await this.#storage.delete(storageKey);
      entries.delete(storageKey);
      return;
    }
  }

  /** Whether any entry (failed or not) targets this conversation; synchronous once loaded. */
  has(conversationId: string): boolean {
    for (const entry of this.#entries?.values() ?? [])
      if (entry.conversationId === conversationId) return true;
    return false;
  }

  async size(): Promise<number> {
    return (await this.#load()).size;
  }

  /** Forgets the in-memory mirror (after the storage was cleared) and reloads on next use. */
  reset(): void {
    this.#entries = null;
  }

  /** Loads the queue (so `has` is accurate before the first write). */
  async ready(): Promise<void> {
    await this.#load();
  }
}
