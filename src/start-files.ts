/**
 * The local files a start-up may create — a new SQLite store (or durable tier), a SQLite archive
 * backend, and the directories above them — noted before anything is opened, so a start that
 * fails after opening them removes what it created and leaves the disk as it found it. Files and
 * directories that existed before are never touched; a directory is removed only when empty.
 */
import { existsSync } from "node:fs";
import { rm, rmdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { sqlitePath, storeScheme } from "./store/create-store.ts";

/** What SQLite writes next to a database file. */
const SQLITE_COMPANIONS = ["", "-wal", "-shm", "-journal"];

export interface StartFiles {
  /** Removes the files and directories noted as missing (after the stores were closed). */
  remove(): Promise<void>;
}

/** The file of an `sqlite:` store URL, else null (other schemes, `:memory:`, `file:` URIs). */
export function sqliteStoreFile(url: string): string | null {
  if (storeScheme(url) !== "sqlite:") return null;
  return localFile(sqlitePath(url));
}

/** `path` unless it names no file on disk (`:memory:`, a `file:` URI). */
function localFile(path: string): string | null {
  return path === ":memory:" || path.startsWith("file:") ? null : path;
}

/** Notes which of the SQLite `files` (and the directories above them) do not exist yet. */
export function noteMissingFiles(files: readonly (string | null)[]): StartFiles {
  const missingFiles: string[] = [];
  const missingDirs: string[] = [];
  for (const named of files) {
    const file = named === null ? null : localFile(named);
    if (file === null) continue;
    const path = resolve(file);
    if (existsSync(path)) continue;
    missingFiles.push(path);
    for (let dir = dirname(path); !existsSync(dir) && dir !== dirname(dir); dir = dirname(dir))
      missingDirs.push(dir);
  }
  // Deepest first, so each directory is empty by the time it is removed.
  missingDirs.sort((a, b) => b.length - a.length);
  return {
    async remove() {
      for (const file of missingFiles)
        for (const suffix of SQLITE_COMPANIONS) await rm(`${file}${suffix}`, { force: true }).catch(() => {});
      // Not empty (something else was put there meanwhile) or already gone: left as it is.
      for (const dir of new Set(missingDirs)) await rmdir(dir).catch(() => {});
    },
  };
}
