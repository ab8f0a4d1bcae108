/**
 * The one storage contract the offline layer needs: an async key-value store of JSON values
 * with prefix listing. IndexedDB (browsers), memory and a JSON file (Node) implement it.
 */
export interface OfflineStorage {
  /** The stored value, or `undefined`. Values are copies: mutating them changes nothing stored. */
  get<T>(key: string): Promise<T | undefined>;
  /** Stores a JSON-serialisable value durably (when the adapter is durable) before resolving. */
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix`, sorted ascending (code-unit order). */
  keys(prefix: string): Promise<string[]>;
  /**
   * Reads and writes several keys as one step that no other writer of the same storage (another
   * process on one file) can interleave with: `change` sees the values as stored now. It must be
   * synchronous. Optional: without it, callers fall back to `get` then `set`, which is safe only
   * while one process (or tab) writes.
   */
  update?<R>(change: (values: StorageTransaction) => R): Promise<R>;
  /** Removes everything (log-out). */
  clear(): Promise<void>;
  close?(): Promise<void>;
}

/** What `OfflineStorage.update` sees: the stored values, read and changed synchronously. */
export interface StorageTransaction {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** A transaction over a map of JSON texts (the file and memory adapters store values so). */
export function mapTransaction(map: Map<string, string>): StorageTransaction {
  return {
    get: <T>(key: string): T | undefined => {
      const raw = map.get(key);
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    },
    set: (key, value) => {
      map.set(key, JSON.stringify(value));
    },
    delete: (key) => {
      map.delete(key);
    },
  };
}
