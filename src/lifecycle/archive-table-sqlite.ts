/**
 * The `sqlite` archive backend: archives as rows of `holdfast_archives` in a SQLite file (its
 * own file, or the store's — the table names cannot clash with the store's). Each archive is
 * one row holding the compressed portable-format bytes, written with one upsert, so a reader
 * sees the previous archive or the new one whole, and a sweeper that lost its lease mid-write
 * cannot leave a partial archive behind. The table comes from a numbered migration recorded in
 * `holdfast_archive_migrations`.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { PortableSessionBlock } from "../interop/portable/reader.ts";
import type { Item, Session } from "../store/types.ts";
import type { ArchiveBackend, ArchiveWritten } from "./archive-backend.ts";
import {
  type ArchiveCompression,
  archiveNotFound,
  compressArchive,
  readArchiveData,
} from "./archive-format.ts";

/** Schema of the archive table, one entry per version; applied in order, each once. */
export const ARCHIVE_TABLE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE holdfast_archives (
    tenant TEXT NOT NULL,
    session_id TEXT NOT NULL,
    compression TEXT NOT NULL,
    items INTEGER NOT NULL,
    archived_at INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (tenant, session_id)
  ) WITHOUT ROWID`,
  // The session's version in the archive: a restore removes only the archive it restored.
  "ALTER TABLE holdfast_archives ADD COLUMN session_version INTEGER",
];

class SqliteArchiveBackend implements ArchiveBackend {
  readonly kind = "sqlite";
  readonly location: string;
  readonly compression: ArchiveCompression;
  readonly #db: DatabaseSync;
  /** Node before 22.15 has no `DatabaseSync#isOpen`. */
  #closed = false;

  constructor(path: string, compression: ArchiveCompression) {
    this.location = `SQLite '${path}' (table holdfast_archives)`;
    this.compression = compression;
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    this.#migrate();
  }

  #migrate(): void {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(
        "CREATE TABLE IF NOT EXISTS holdfast_archive_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
      );
      const row = db
        .prepare("SELECT coalesce(max(version), 0) AS v FROM holdfast_archive_migrations")
        .get() as {
        v: number;
      };
      for (let v = row.v; v < ARCHIVE_TABLE_MIGRATIONS.length; v++) {
        db.exec(ARCHIVE_TABLE_MIGRATIONS[v]!);
        db.prepare("INSERT INTO holdfast_archive_migrations (version, applied_at) VALUES (?, ?)").run(
          v + 1,
          Date.now(),
        );
      }
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }

  async write(driver: string, session: Session, items: AsyncIterable<Item>): Promise<ArchiveWritten> {
    const { data, items: count } = await compressArchive(this.compression, driver, session, items);
    // Never over an archive of a newer session version (see ArchiveBackend.write).
    const { changes } = this.#db
      .prepare(
        `INSERT INTO holdfast_archives (tenant, session_id, compression, items, archived_at, data, session_version)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, session_id) DO UPDATE SET compression = excluded.compression,
           items = excluded.items, archived_at = excluded.archived_at, data = excluded.data,
           session_version = excluded.session_version
         WHERE holdfast_archives.session_version IS NULL
           OR holdfast_archives.session_version <= excluded.session_version`,
      )
      .run(session.tenant, session.id, this.compression, count, Date.now(), data, session.version);
    return { written: Number(changes) === 1, compressedBytes: data.length, items: count };
  }

  async read(tenant: string, id: string): Promise<PortableSessionBlock> {
    const row = this.#db
      .prepare("SELECT data FROM holdfast_archives WHERE tenant = ? AND session_id = ?")
      .get(tenant, id) as { data: Uint8Array } | undefined;
    if (!row) throw archiveNotFound(id, this.location);
    const data = Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength);
    return readArchiveData(
      (async function* () {
        yield data;
      })(),
      id,
      this.location,
    );
  }

  async remove(tenant: string, id: string, only?: { version: number }): Promise<void> {
    if (!only) {
      this.#db.prepare("DELETE FROM holdfast_archives WHERE tenant = ? AND session_id = ?").run(tenant, id);
      return;
    }
    this.#db
      .prepare(
        "DELETE FROM holdfast_archives WHERE tenant = ? AND session_id = ? AND (session_version IS NULL OR session_version = ?)",
      )
      .run(tenant, id, only.version);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

/** Archives in the `holdfast_archives` table of the SQLite file at `path` (created if missing). */
export function createSqliteArchiveBackend(
  path: string,
  compression: ArchiveCompression = "gzip",
): ArchiveBackend {
  return new SqliteArchiveBackend(path, compression);
}
