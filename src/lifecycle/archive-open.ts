/**
 * Opens the archive backend the `lifecycle.archive` config names, validated at start-up: a
 * table backend connects and migrates now, so a wrong URL fails the start, not the first sweep.
 * zstd on a runtime without it (Node 22.13–22.14, or 23.0–23.7) falls back to gzip with a notice: archives stay
 * readable either way (reads recognise the codec).
 */
import type { ArchiveBackend } from "./archive-backend.ts";
import { createDirectoryArchiveBackend } from "./archive-files.ts";
import { zstdAvailable } from "./archive-format.ts";
import { createPostgresArchiveBackend } from "./archive-table-postgres.ts";
import { createSqliteArchiveBackend } from "./archive-table-sqlite.ts";
import type { ArchiveSettings } from "./config.ts";

export interface OpenedArchiveBackend {
  backend: ArchiveBackend;
  /** Start-up notices (the zstd fallback). */
  notices: string[];
}

export interface OpenArchiveOptions {
  /** Whether zstd may be used (default: whether this runtime has it). */
  zstd?: boolean;
}

/** The file a `sqlite` archive backend opens (and creates when missing), else null. */
export function sqliteArchiveFile(settings: ArchiveSettings): string | null {
  return settings.backend === "sqlite" ? settings.url!.slice("sqlite:".length) : null;
}

export async function openArchiveBackend(
  settings: ArchiveSettings,
  options: OpenArchiveOptions = {},
): Promise<OpenedArchiveBackend> {
  const notices: string[] = [];
  let compression = settings.compression;
  if (compression === "zstd" && !(options.zstd ?? zstdAvailable())) {
    compression = "gzip";
    notices.push(
      `lifecycle.archive.compression is zstd but this Node.js (${process.version}) has no zstd (Node >= 22.15 and >= 23.8 do); archiving with gzip instead.`,
    );
  }
  const backend =
    settings.backend === "dir"
      ? createDirectoryArchiveBackend(settings.dir, compression)
      : settings.backend === "sqlite"
        ? createSqliteArchiveBackend(sqliteArchiveFile(settings)!, compression)
        : await createPostgresArchiveBackend(settings.url!, compression);
  return { backend, notices };
}
