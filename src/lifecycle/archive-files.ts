/**
 * Cold storage of archived sessions: one gzip-compressed portable-format file (the same lines
 * `holdfast sessions export` writes, see docs/portable-format.md) per session, under
 * `<dir>/<tenant>/<session id>.jsonl.gz`. Files are written to a temporary name and renamed, so
 * a crash never leaves a plausible partial archive.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { PortableWriter } from "../interop/portable/format.ts";
import { type PortableSessionBlock, readPortable } from "../interop/portable/reader.ts";
import { NotFoundError } from "../store/errors.ts";
import type { Item, Session } from "../store/types.ts";

/** Where the archive of a session lives. Tenants are URI-encoded so any name is a safe directory. */
export function archivePath(dir: string, tenant: string, id: string): string {
  return join(dir, encodeURIComponent(tenant), `${id}.jsonl.gz`);
}

/**
 * Writes the archive of `session` with the items `items` yields (ascending seq). Returns the
 * compressed size. `driver` names the source store in the manifest.
 */
export async function writeArchive(
  dir: string,
  driver: string,
  session: Session,
  items: AsyncIterable<Item>,
): Promise<{ path: string; compressedBytes: number; items: number }> {
  const path = archivePath(dir, session.tenant, session.id);
  await mkdir(join(dir, encodeURIComponent(session.tenant)), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const writer = new PortableWriter();
  let count = 0;
  async function* lines(): AsyncGenerator<string> {
    yield writer.manifest({ driver, tenant: session.tenant });
    yield writer.session(session);
    for await (const item of items) {
      count++;
      yield writer.item(item);
    }
    yield writer.endSession();
    yield writer.trailer().text;
  }
  try {
    await pipeline(Readable.from(lines()), createGzip({ level: 6 }), createWriteStream(tmp, { flush: true }));
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return { path, compressedBytes: (await stat(path)).size, items: count };
}

/** Reads and verifies the archive of one session; `not_found` when there is none. */
export async function readArchive(dir: string, tenant: string, id: string): Promise<PortableSessionBlock> {
  const path = archivePath(dir, tenant, id);
  try {
    await stat(path);
  } catch {
    throw new NotFoundError(`No archive of session '${id}' in '${dir}'.`, { param: "session_id" });
  }
  const input = createReadStream(path).pipe(createGunzip());
  for await (const block of readPortable(input)) {
    if (block.session.id === id) {
      input.destroy();
      return block;
    }
  }
  throw new NotFoundError(`The archive '${path}' does not hold session '${id}'.`, { param: "session_id" });
}

/** Removes the archive of one session (no error when it is already gone). */
export async function removeArchive(dir: string, tenant: string, id: string): Promise<void> {
  await rm(archivePath(dir, tenant, id), { force: true });
}
