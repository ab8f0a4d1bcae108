/**
 * IndexedDB storage for browsers: one object store of JSON values keyed by string. Every `set`
 * resolves when its transaction has committed, so a queued message survives a reload or crash.
 */
import type { OfflineStorage } from "./types.ts";

export interface IndexedDbStorageOptions {
  /** Database name, default `holdfast-offline`. One per signed-in user keeps users apart. */
  name?: string;
  /** The IndexedDB factory, default `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
}

const STORE = "kv";

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Opens (creating if needed) the database and returns the storage. */
export async function createIndexedDbStorage(options: IndexedDbStorageOptions = {}): Promise<OfflineStorage> {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  if (!factory) throw new Error("IndexedDB is not available here; use createMemoryStorage() instead.");
  const open = factory.open(options.name ?? "holdfast-offline", 1);
  open.onupgradeneeded = () => {
    if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
  };
  const db = await promised(open);

  async function run<T>(
    mode: IDBTransactionMode,
    body: (store: IDBObjectStore) => IDBRequest<T>,
  ): Promise<T> {
    const tx = db.transaction(STORE, mode, { durability: "strict" });
    const result = promised(body(tx.objectStore(STORE)));
    // Resolve on commit, not on request success: only then is the write on disk.
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted."));
    });
    return result;
  }

  return {
    get: async <T>(key: string): Promise<T | undefined> => {
      const raw = await run("readonly", (store) => store.get(key) as IDBRequest<string | undefined>);
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    },
    set: async (key, value) => {
      // Stored as JSON text: the same copy semantics as the other adapters, and cheap size accounting.
      await run("readwrite", (store) => store.put(JSON.stringify(value), key));
    },
    delete: async (key) => {
      await run("readwrite", (store) => store.delete(key));
    },
    keys: async (prefix) => {
      const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
      const keys = await run("readonly", (store) => store.getAllKeys(range));
      return keys.map(String).sort();
    },
    clear: async () => {
      await run("readwrite", (store) => store.clear());
    },
    close: async () => {
      db.close();
    },
  };
}
