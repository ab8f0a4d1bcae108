/**
 * Node-only storage: one JSON file, rewritten atomically (temp file + fsync + rename) on every
 * change, so a crash leaves the old or the new content, never a torn file. Meant for CLIs and
 * small apps; not imported by the browser build.
 */
import { open, readFile, rename } from "node:fs/promises";
import type { OfflineStorage } from "./types.ts";

/** Opens (or starts) the file-backed storage at `path`. */
export async function createFileStorage(path: string): Promise<OfflineStorage> {
  if (typeof path !== "string" || path.length === 0)
    throw new Error("createFileStorage(path): path is required.");
  // A Map, not an object: keys come from conversation ids, and `__proto__` must stay a plain key.
  let data = new Map<string, string>();
  try {
    data = new Map(Object.entries(JSON.parse(await readFile(path, "utf8")) as Record<string, string>));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  let chain: Promise<void> = Promise.resolve();

  async function persist(): Promise<void> {
    const temp = `${path}.tmp`;
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(JSON.stringify(Object.fromEntries(data)));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  }
  // Writes are serialised: two overlapping renames could otherwise land out of order.
  const write = (change: () => void): Promise<void> => {
    const next = chain.then(() => {
      change();
      return persist();
    });
    chain = next.catch(() => {});
    return next;
  };

  return {
    get: async <T>(key: string): Promise<T | undefined> => {
      const raw = data.get(key);
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    },
    set: (key, value) => {
      const raw = JSON.stringify(value);
      return write(() => {
        data.set(key, raw);
      });
    },
    delete: (key) =>
      write(() => {
        data.delete(key);
      }),
    keys: async (prefix) => [...data.keys()].filter((key) => key.startsWith(prefix)).sort(),
    clear: () =>
      write(() => {
        data = new Map();
      }),
    close: () => chain,
  };
}
