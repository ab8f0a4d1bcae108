/**
 * Temp files a crash left next to a file storage: `<path>.<pid>-<hex>.tmp` (a write that died
 * before its rename) and `<path>.lock.<pid>-<hex>.tmp` (a lock attempt that died before it
 * removed its owner file). Nothing else ever removes them, so they pile up, each as large as the
 * storage file. The storage removes them while it holds the file's lock (file-storage.ts): a
 * write makes its temp file only while holding it, so none found then is a write in progress,
 * even one on another host whose pid means nothing here.
 */
import { readdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isAlive } from "./file-lock.ts";

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** The pid in a temp name of the storage at `path`, or `null` when the name is not one of them. */
function tempOwner(name: string, base: string): number | null {
  if (!name.startsWith(`${base}.`) || !name.endsWith(".tmp")) return null;
  const middle = name.slice(base.length + 1, -".tmp".length);
  const match = /^(?:lock\.)?(\d+)-[0-9a-f]+$/.exec(middle);
  return match ? Number(match[1]) : null;
}

/**
 * Removes the storage's temp files whose pid is not alive on this host, or that are older than
 * `staleMs` (the name has no host: a pid alive here may be a stranger's, and a temp older than
 * the lock's stale period belongs to no write still running). Returns the names removed.
 */
export async function removeLeftoverTemps(path: string, staleMs: number): Promise<string[]> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = tempOwner(name, base);
    if (pid === null) continue;
    const file = join(dir, name);
    if (isAlive(pid)) {
      const modified = await stat(file).then(
        (s) => s.mtimeMs,
        () => null,
      );
      if (modified === null || Date.now() - modified < staleMs) continue;
    }
    try {
      await unlink(file);
      removed.push(name);
    } catch (error) {
      // Another opener removed it first, or its writer renamed it into place: either way, gone.
      if (errorCode(error) !== "ENOENT") throw error;
    }
  }
  return removed;
}
