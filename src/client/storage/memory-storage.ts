/** In-memory storage (Node, tests, private browsing): values are JSON copies, gone with the process. */
import { mapTransaction, type OfflineStorage } from "./types.ts";

/** Creates an empty in-memory storage. */
export function createMemoryStorage(): OfflineStorage {
  const map = new Map<string, string>();
  return {
    get: async <T>(key: string): Promise<T | undefined> => {
      const raw = map.get(key);
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    },
    set: async (key, value) => {
      map.set(key, JSON.stringify(value));
    },
    delete: async (key) => {
      map.delete(key);
    },
    keys: async (prefix) => [...map.keys()].filter((key) => key.startsWith(prefix)).sort(),
    // One thread, and `change` is synchronous: nothing can interleave.
    update: async (change) => change(mapTransaction(map)),
    clear: async () => {
      map.clear();
    },
  };
}
