/**
 * Node-only storage: one JSON file, rewritten atomically (temp file + fsync + rename) on every
 * change, so a crash leaves the old or the new content, never a torn file. Meant for CLIs and
 * small apps; not imported by the browser build.
 *
 * Several processes may share the file (a CLI and a daemon, two workers). Each write takes the
 * lock file `<path>.lock`, re-reads the file, applies only its own change (one key set or
 * deleted) and renames the result into place: a write never replaces what another process wrote
 * with a stale copy. Reads check the file's identity (inode, size, mtime) and re-read it when
 * another process changed it.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { DEFAULT_STALE_MS, type FileLockOptions, withFileLock } from "./file-lock.ts";
import { removeLeftoverTemps } from "./temp-cleanup.ts";
import { mapTransaction, type OfflineStorage } from "./types.ts";

export interface FileStorageOptions {
  /** How long a write waits for another process's lock before it fails (ms), default 10 000. */
  lockTimeoutMs?: number;
  /**
   * A lock older than this is taken over even if its holder's pid is alive (ms), default
   * 30 000. A lock of a dead process on this host is taken over at once.
   */
  lockStaleMs?: number;
}

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

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Which version of the file is on disk: every write renames a new file (a new inode) into place. */
async function identity(path: string): Promise<string | null> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Set once the platform refused to open or sync a directory (Windows): not tried again. */
let directorySyncUnsupported = false;

/** fsyncs a directory, where the platform allows it (POSIX); elsewhere the rename is all there is. */
async function syncDirectory(dir: string): Promise<void> {
  if (directorySyncUnsupported) return;
  let handle: FileHandle;
  try {
    handle = await open(dir, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EISDIR" || code === "EPERM" || code === "EACCES") {
      directorySyncUnsupported = true;
      return;
    }
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the write itself has succeeded.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EBADF") throw error;
    directorySyncUnsupported = true;
  } finally {
    await handle.close();
  }
}

/** Opens (or starts) the file-backed storage at `path`. */
export async function createFileStorage(
  path: string,
  options: FileStorageOptions = {},
): Promise<OfflineStorage> {
  if (typeof path !== "string" || path.length === 0)
    throw new Error("createFileStorage(path): path is required.");
  const lockPath = `${path}.lock`;
  const lockOptions: FileLockOptions = {
    ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
    ...(options.lockStaleMs === undefined ? {} : { staleMs: options.lockStaleMs }),
  };
  // A Map, not an object: keys come from conversation ids, and `__proto__` must stay a plain key.
  let data = new Map<string, string>();
  /** The file text `data` was parsed from or written as (`null`: no file), and its identity. */
  let text: string | null = null;
  let seen: string | null = null;

  /** Brings `data` up to the file on disk (another process may have written). */
  async function refresh(): Promise<void> {
    const current = await identity(path);
    if (current !== null && current === seen) return;
    const next = await readIfExists(path);
    if (next !== text) data = next === null ? new Map() : parseFile(path, next);
    text = next;
    // Taken before the read: if the file changed in between, the next read just reads again.
    seen = current;
  }
  /**
   * Removes the temp files of writes and lock attempts that crashed (they would stay forever).
   * Only ever under the lock: every write makes its temp file while holding it, so none found
   * then is a write in progress — one on another host sharing the directory, say, whose pid
   * this host cannot see and would take for dead. Best effort: a leftover that cannot be removed
   * is no reason to fail a write or an open.
   */
  const removeLeftovers = (): Promise<unknown> =>
    removeLeftoverTemps(path, options.lockStaleMs ?? DEFAULT_STALE_MS).catch(() => {});
  // At open only if the lock is free now: a write holding it cleans up itself.
  await withFileLock(lockPath, { ...lockOptions, timeoutMs: 0 }, removeLeftovers).catch(() => {});
  await refresh();

  async function persist(content: string): Promise<void> {
    // A temp name of its own: another storage on the same file (a second process, or this one
    // opened twice) writing `<path>.tmp` at the same time would rename or truncate ours.
    const temp = `${path}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`;
    try {
      const handle = await open(temp, "wx");
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    // The rename is an entry in the directory: until the directory is synced too, a power cut
    // can bring back the previous file (a queued message gone, or a sent one back in the queue).
    await syncDirectory(dirname(path));
  }

  // Everything runs in order: two overlapping renames could land out of order, and a read
  // after a write must see it.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = chain.then(task);
    chain = next.catch(() => {});
    return next;
  };

  /** Applies `change` to the file as it is now, under the lock: never to a stale copy. */
  const write = <R = void>(change: (map: Map<string, string>) => R): Promise<R> =>
    serial(() =>
      withFileLock(lockPath, lockOptions, async () => {
        await removeLeftovers();
        const onDisk = await readIfExists(path);
        // A copy: if the write fails, `data` still mirrors the file.
        const next = new Map(onDisk === null ? [] : onDisk === text ? data : parseFile(path, onDisk));
        const result = change(next);
        const content = JSON.stringify(Object.fromEntries(next));
        // Nothing changed (an update that found nothing to do): no rewrite, no fsync.
        if (content !== onDisk) await persist(content);
        data = next;
        text = content;
        seen = await identity(path);
        return result;
      }),
    );

  const read = <T>(task: () => T): Promise<T> =>
    serial(async () => {
      await refresh();
      return task();
    });

  return {
    get: <T>(key: string): Promise<T | undefined> =>
      read(() => {
        const raw = data.get(key);
        return raw === undefined ? undefined : (JSON.parse(raw) as T);
      }),
    set: (key, value) => {
      const raw = JSON.stringify(value);
      return write((map) => {
        map.set(key, raw);
      });
    },
    delete: (key) =>
      write((map) => {
        map.delete(key);
      }),
    update: (change) => write((map) => change(mapTransaction(map))),
    keys: (prefix) => read(() => [...data.keys()].filter((key) => key.startsWith(prefix)).sort()),
    clear: () =>
      write((map) => {
        map.clear();
      }),
    close: async () => {
      await chain;
    },
  };
}
