/**
 * The only place the bench looks at a store URL's scheme: to give each scenario its own
 * SQLite file (so "bytes on disk" counts that scenario only) and to measure files on disk.
 * Other schemes run every scenario against the URL as given, in a fresh tenant.
 */
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function isSqliteFileUrl(url: string): boolean {
  return url.startsWith("sqlite:") && !url.endsWith(":memory:");
}

function sqlitePath(url: string): string {
  const rest = url.slice("sqlite:".length);
  return rest.startsWith("//") ? rest.slice(2) : rest;
}

/** A per-scenario URL: `sqlite:/x/bench.db` → `sqlite:/x/bench.<scenario>.db`. */
export function scenarioUrl(url: string, scenario: string): string {
  if (!isSqliteFileUrl(url)) return url;
  const path = sqlitePath(url);
  const dot = path.lastIndexOf(".");
  const slash = path.lastIndexOf("/");
  const base = dot > slash ? path.slice(0, dot) : path;
  const ext = dot > slash ? path.slice(dot) : ".db";
  return `sqlite:${base}.${scenario}${ext}`;
}

/** Bytes on disk of a closed store (database file plus WAL/SHM if any), or null when not file-based. */
export function diskBytes(url: string): number | null {
  if (!isSqliteFileUrl(url)) return null;
  const path = sqlitePath(url);
  let total = 0;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) total += statSync(file).size;
  }
  return total;
}

export function defaultSqliteUrl(dir: string = tmpdir()): string {
  return `sqlite:${join(dir, "bench.db")}`;
}
