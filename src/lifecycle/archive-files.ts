/**
 * The `dir` archive backend: one compressed portable-format file (the same lines
 * `holdfast sessions export` writes, see docs/portable-format.md) per session, under
 * `<dir>/<tenant>/<session id>.jsonl.gz` (or `.jsonl.zst`). Files are written to a temporary
 * name and linked into place, so a crash never leaves a plausible partial archive, and never
 * over an archive of a newer session version (see #settle).
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

/** An archive file one call holds under a name of its own: its new archive, or one it claimed. */
interface Held {
  file: string;
  /** The session version inside; null when unreadable (older than any). */
  version: number | null;
}

/** The file holding the newest session version; the first of a tie (same version, same items). */
function newest(held: Held[]): Held {
  let best = held[0]!;
  for (const h of held) if ((h.version ?? -1) > (best.version ?? -1)) best = h;
  return best;
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
    let placed: Held;
    try {
      await pipeline(
        Readable.from(archiveLines(driver, session, items, () => count++)),
        compressor(this.compression),
        createWriteStream(tmp, { flush: true }),
      );
      // Measured before it is placed: once in place, a restore's removal may claim it at once.
      compressedBytes = (await stat(tmp)).size;
      // Not a plain rename: that would replace an archive of a newer version written meanwhile.
      placed = await this.#settle(path, session.id, [{ file: tmp, version: session.version }]);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    if (placed.file !== tmp) return { written: false, compressedBytes, items: count };
    // An archive under the other compression (written before a configuration change) is stale now.
    for (const other of ARCHIVE_COMPRESSIONS) {
      if (other !== this.compression)
        await rm(archivePath(this.#dir, session.tenant, session.id, other), { force: true });
    }
    return { written: true, compressedBytes, items: count };
  }

  /**
   * Moves the archive at `path` aside under a name of its own (a rename is atomic: no other call
   * gets the same file) and reads the session version inside; null when there is no archive.
   */
  async #claim(path: string, id: string): Promise<Held | null> {
    const file = `${path}.${randomUUID()}.claimed`;
    try {
      await rename(path, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const version = await readArchiveData(createReadStream(file), id, `file '${path}'`).then(
      (block) => block.session.version,
      () => null,
    );
    return { file, version };
  }

  /**
   * Puts the newest of the files `held` (see newest) at `path`, deletes the others and answers the
   * one placed. `link` never replaces: when another write or removal put a file there meanwhile,
   * that one is claimed too and the newest of all goes in — whatever the interleaving, the newest
   * archive of the session ends at `path`. A crash in between leaves a claimed archive as
   * `<path>.<uuid>.claimed` (complete: rename it back if `path` is missing).
   */
  async #settle(path: string, id: string, held: Held[]): Promise<Held> {
    for (;;) {
      const best = newest(held);
      try {
        await link(best.file, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const taken = await this.#claim(path, id);
        if (taken) held.push(taken);
        continue;
      }
      for (const file of held) await rm(file.file, { force: true });
      return best;
    }
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
      // Claim the file, then look at whose archive it is: one written since (another sweep
      // re-archived the session) goes back, or a newer one if a write placed one meanwhile.
      const claimed = await this.#claim(path, id);
      if (!claimed) continue;
      if (claimed.version === only.version) await rm(claimed.file, { force: true });
      else await this.#settle(path, id, [claimed]);
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
