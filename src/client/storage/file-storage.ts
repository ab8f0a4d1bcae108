/**
 * Node-only storage: one JSON file, rewritten atomically (temp file + fsync + rename) on every
 * change, so a crash leaves the old or the new content, never a torn file. Meant for CLIs and
 * small apps; not imported by the browser build.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import type { OfflineStorage } from "./types.ts";

/**
 * The stored map. A file that is not one (truncated, or written by something else) is an error
 * naming it, never an empty start: it may hold queued writes, and the first write would replace it.
 */
function parseFile(path: string, text: string): Map<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    value = error;
  }
  const valid =
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Error) &&
    Object.values(value).every((v) => typeof v === "string");
  if (!valid) {
    throw new Error(
      `createFileStorage: '${path}' is not a Holdfast offline storage file (truncated or damaged?). It may hold queued writes, so it was left as is: repair it, or move it aside to start empty.`,
      value instanceof Error ? { cause: value } : undefined,
    );
  }
  return new Map(Object.entries(value as Record<string, string>));
}

/** Opens (or starts) the file-backed storage at `path`. */
export async function createFileStorage(path: string): Promise<OfflineStorage> {
  if (typeof path !== "string" || path.length === 0)
    throw new Error("createFileStorage(path): path is required.");
  // A Map, not an object: keys come from conversation ids, and `__proto__` must stay a plain key.
  let data = new Map<string, string>();
  let text: string | null = null;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (text !== null) data = parseFile(path, text);
  let chain: Promise<void> = Promise.resolve();

  async function persist(): Promise<void> {
    // A temp name of its own: another storage on the same file (a second process, or this one
    // opened twice) writing `<path>.tmp` at the same time would rename or truncate ours.
    const temp = `${path}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`;
    try {
      const handle = await open(temp, "wx");
      try {
        await handle.writeFile(JSON.stringify(Object.fromEntries(data)));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
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
