/**
 * The `dir` archive backend: one compressed portable-format file (the same lines
 * `holdfast sessions export` writes, see docs/portable-format.md) per session, under
 * `<dir>/<tenant>/<session id>.jsonl.gz` (or `.jsonl.zst`). Files are written to a temporary
 * name and renamed, so a crash never leaves a plausible partial archive.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { link, mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PortableSessionBlock } from "../interop/portable/reader.ts";
import type { Item, Session } from "../store/types.ts";
import type { ArchiveBackend, ArchiveWritten } from "./archive-backend.ts";
import {
  ARCHIVE_COMPRESSIONS,
  type ArchiveCompression,
  archiveExtension,
  archiveLines,
  archiveNotFound,
  compressor,
  readArchiveData,
} from "./archive-format.ts";

/** Where the archive of a session lives. Tenants are URI-encoded so any name is a safe directory. */
export function archivePath(
  dir: string,
  tenant: string,
  id: string,
  compression: ArchiveCompression = "gzip",
): string {
  return join(dir, encodeURIComponent(tenant), `${id}${archiveExtension(compression)}`);
}

class DirectoryArchiveBackend implements ArchiveBackend {
  readonly kind = "dir";
  readonly location: string;
  readonly compression: ArchiveCompression;
  readonly #dir: string;

  constructor(dir: string, compression: ArchiveCompression) {
    this.#dir = dir;
    this.location = `directory '${dir}'`;
    this.compression = compression;
  }

  async write(driver: string, session: Session, items: AsyncIterable<Item>): Promise<ArchiveWritten> {
    const path = archivePath(this.#dir, session.tenant, session.id, this.compression);
    await mkdir(join(this.#dir, encodeURIComponent(session.tenant)), { recursive: true });
    // A random name: two writes of one session at once (same process, same millisecond) must
    // not share a temporary file.
    const tmp = `${path}.${randomUUID()}.tmp`;
    let count = 0;
    let compressedBytes = 0;
    try {
      await pipeline(
        Readable.from(archiveLines(driver, session, items, () => count++)),
        compressor(this.compression),
        createWriteStream(tmp, { flush: true }),
      );
      // Measured before the rename: once in place, a restore's removal may claim it at once.
      compressedBytes = (await stat(tmp)).size;
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    // An archive under the other compression (written before a configuration change) is stale now.
    for (const other of ARCHIVE_COMPRESSIONS) {
      if (other !== this.compression)
        await rm(archivePath(this.#dir, session.tenant, session.id, other), { force: true });
    }
    return { compressedBytes, items: count };
  }

  async read(tenant: string, id: string): Promise<PortableSessionBlock> {
    // The configured compression first, then the other one (archives outlive configuration changes).
    const order = [this.compression, ...ARCHIVE_COMPRESSIONS.filter((c) => c !== this.compression)];
    for (const kind of order) {
      const path = archivePath(this.#dir, tenant, id, kind);
      try {
        return await readArchiveData(createReadStream(path), id, `file '${path}'`);
      } catch (error) {
        // Gone (or claimed by a removal checking whose it is) before it was opened: missing, not corrupt.
        if ((error as { cause?: { code?: unknown } }).cause?.code !== "ENOENT") throw error;
      }
    }
    throw archiveNotFound(id, this.location);
  }

  async remove(tenant: string, id: string, only?: { version: number }): Promise<void> {
    for (const kind of ARCHIVE_COMPRESSIONS) {
      const path = archivePath(this.#dir, tenant, id, kind);
      if (!only) {
        await rm(path, { force: true });
        continue;
      }
      // Claim the file (a rename is atomic), then look at whose archive it is: one written since
      // (another sweep re-archived the session) goes back, unless a newer one took its place.
      const claimed = `${path}.${randomUUID()}.removing`;
      try {
        await rename(path, claimed);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      const version = await readArchiveData(createReadStream(claimed), id, `file '${path}'`).then(
        (block) => block.session.version,
        () => null,
      );
      if (version !== only.version) {
        await link(claimed, path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "EEXIST") throw error;
        });
      }
      await rm(claimed, { force: true });
    }
  }

  async close(): Promise<void> {}
}

/** Archives as files under `dir` (created on first use). */
export function createDirectoryArchiveBackend(
  dir: string,
  compression: ArchiveCompression = "gzip",
): ArchiveBackend {
  return new DirectoryArchiveBackend(dir, compression);
}
