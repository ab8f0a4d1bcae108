/**
 * Opening an SQLite file, with errors that say what to fix: `node:sqlite` only says "file is
 * not a database" or "unable to open database file", and `mkdir` names no store.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { InvalidArgumentError } from "../errors.ts";
import { setBusyTimeout } from "./sqlite-compat.ts";

/** SQLite result codes (https://sqlite.org/rescode.html) that mean "this path is not usable". */
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;
const FIX = "check the path in the store URL";

/** Opens `path` (`:memory:`, a `file:` URI or a file whose directory is created if missing). */
export function openSqliteFile(path: string, timeout: number): DatabaseSync {
  if (path !== ":memory:" && !path.startsWith("file:")) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      // ENOTDIR (a parent is a file), EACCES, EROFS…
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new InvalidArgumentError(
        `Cannot create the directory of the SQLite file '${path}' (${code}); ${FIX}.`,
        { param: "store", cause: error },
      );
    }
  }
  try {
    const db = new DatabaseSync(path);
    setBusyTimeout(db, timeout);
    return db;
  } catch (error) {
    throw sqliteOpenError(path, error);
  }
}

/** `error` from opening or first reading `path`, explained when the path is the problem. */
export function sqliteOpenError(path: string, error: unknown): unknown {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown };
  if (e.code !== "ERR_SQLITE_ERROR") return error;
  if (e.errcode === SQLITE_NOTADB) {
    return new InvalidArgumentError(`'${path}' is not an SQLite database (${e.message}); ${FIX}.`, {
      param: "store",
      cause: error,
    });
  }
  if (e.errcode === SQLITE_CANTOPEN) {
    return new InvalidArgumentError(
      `Cannot open the SQLite file '${path}' (${e.message}: is it a directory, or not writable?); ${FIX}.`,
      { param: "store", cause: error },
    );
  }
  return error;
}
