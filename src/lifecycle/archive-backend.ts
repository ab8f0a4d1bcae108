/**
 * Where archived sessions go. Every backend stores the same thing — one compressed
 * portable-format archive per session (archive-format.ts) — so an archive moves between
 * backends unchanged and restores from any of them. Backends: `dir` (archive-files.ts), and
 * a table in SQLite or Postgres (archive-table-*.ts). archive-open.ts picks one from config.
 */
import type { PortableSessionBlock } from "../interop/portable/reader.ts";
import type { Item, Session } from "../store/types.ts";
import type { ArchiveCompression } from "./archive-format.ts";

export const ARCHIVE_BACKENDS = ["dir", "sqlite", "postgres"] as const;
export type ArchiveBackendKind = (typeof ARCHIVE_BACKENDS)[number];

export interface ArchiveWritten {
  /**
   * False when an archive of a newer session version was already there: it stays and nothing was
   * written (a slower archive call of an older copy must never replace it).
   */
  written: boolean;
  compressedBytes: number;
  items: number;
}

export interface ArchiveBackend {
  readonly kind: ArchiveBackendKind;
  /** Names the archive store in messages (credentials removed). */
  readonly location: string;
  /** Compression of new archives (reads recognise either). */
  readonly compression: ArchiveCompression;
  /**
   * Writes (or replaces) the archive of `session` with the items `items` yields (ascending seq),
   * atomically: a reader sees the previous archive or the complete new one, never a part. An
   * archive of a newer `session.version` is never replaced (`written: false`); one of the same
   * version is (the archiver only writes a copy it checked is the session at that version, so
   * both hold the same items), as is one without a version (written before migration 2).
   * `driver` names the source store in the manifest.
   */
  write(driver: string, session: Session, items: AsyncIterable<Item>): Promise<ArchiveWritten>;
  /** Reads and verifies one archive; `not_found` when there is none, `archive_corrupt` when damaged. */
  read(tenant: string, id: string): Promise<PortableSessionBlock>;
  /**
   * Removes one archive (no error when it is already gone). With `version`, only the archive of
   * the session at that version (`session.version` when it was written, what `read` answers in
   * `session.version`): an archive written since, by another sweep, stays. Archives written
   * before this condition existed carry no version in table backends and are removed.
   */
  remove(tenant: string, id: string, only?: { version: number }): Promise<void>;
  close(): Promise<void>;
}
