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
  /** Removes everything (log-out). */
  clear(): Promise<void>;
  close?(): Promise<void>;
}
