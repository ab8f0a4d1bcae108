/**
 * What every archive backend shares: the compression codecs (gzip everywhere, zstd where the
 * runtime has it: Node >= 22.15, or >= 23.8 on the 23 line), the portable-format lines of one archived session
 * (docs/portable-format.md — the same lines `holdfast sessions export` writes), and reading an
 * archive back with every kind of damage turned into one clear `archive_corrupt` error.
 *
 * Reading never trusts the configured compression: the codec is recognised from the data's
 * magic bytes, so archives written before a compression change still restore.
 */
import { pipeline, Readable, type Transform } from "node:stream";
import { pipeline as pipelinePromise } from "node:stream/promises";
import * as zlib from "node:zlib";
import { codecOf, createZstdCompress, decompressor, zstdAvailable } from "../interop/portable/compression.ts";
import { PortableWriter } from "../interop/portable/format.ts";
import { type PortableSessionBlock, readPortable } from "../interop/portable/reader.ts";
import { HoldfastError, NotFoundError } from "../store/errors.ts";
import type { Item, Session } from "../store/types.ts";

export { zstdAvailable };

export const ARCHIVE_COMPRESSIONS = ["gzip", "zstd"] as const;
export type ArchiveCompression = (typeof ARCHIVE_COMPRESSIONS)[number];

export function compressor(kind: ArchiveCompression): Transform {
  return kind === "zstd" ? createZstdCompress() : zlib.createGzip({ level: 6 });
}

/** File name suffix of an archive in a directory. */
export function archiveExtension(kind: ArchiveCompression): string {
  return kind === "zstd" ? ".jsonl.zst" : ".jsonl.gz";
}

/** An I/O failure (EACCES, EISDIR, EIO…): its message names the file, so only its code is shown. */
function ioCode(error: unknown): string | null {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) && typeof syscall === "string" ? code : null;
}

/**
 * A stored archive is corrupt or unreadable; the stub and every other session are untouched.
 * The message reaches API clients, so it names the session and what is wrong, never where the
 * archive lies on the server: that (`where`, and an I/O error's own message, which quotes the
 * path) is the error's `detail`, for the server log and the CLI.
 */
export class ArchiveCorruptError extends HoldfastError {
  constructor(id: string, where: string, reason: string, cause?: unknown) {
    const io = ioCode(cause);
    const shown = io === null ? reason.replace(/\.+$/, "") : `it cannot be read: ${io}`;
    super(
      "archive_corrupt",
      `The archive of session '${id}' is corrupt (${shown}). The archived session is kept as it is; restore its archive from a backup, or purge it.`,
      {
        param: "session_id",
        cause,
        detail: `Archive: ${where}${io === null ? "" : ` (${(cause as Error).message})`}.`,
      },
    );
  }

  override get fault(): "caller" | "system" {
    return "system";
  }
}

/** No archive of session `id` in the backend at `location` (named in the detail only, see above). */
export function archiveNotFound(id: string, location: string): NotFoundError {
  return new NotFoundError(
    `No archive of session '${id}': its archived items cannot be restored (the session is kept as it is).`,
    { param: "session_id", detail: `Looked in ${location}.` },
  );
}

/** The portable-format lines of one archived session (manifest, session, items, end, trailer). */
export async function* archiveLines(
  driver: string,
  session: Session,
  items: AsyncIterable<Item>,
  onItem: () => void,
): AsyncGenerator<string> {
  const writer = new PortableWriter();
  yield writer.manifest({ driver, tenant: session.tenant });
  yield writer.session(session);
  for await (const item of items) {
    onItem();
    yield writer.item(item);
  }
  yield writer.endSession();
  yield writer.trailer().text;
}

/** Compresses the archive of one session into memory (table backends store it as one value). */
export async function compressArchive(
  kind: ArchiveCompression,
  driver: string,
  session: Session,
  items: AsyncIterable<Item>,
): Promise<{ data: Buffer; items: number }> {
  let count = 0;
  const chunks: Buffer[] = [];
  // A pipeline, not pipe: an error of `items` (a failed scan, a session that moved) must reject
  // this call, not go unheard on the source stream and crash the process.
  await pipelinePromise(
    Readable.from(archiveLines(driver, session, items, () => count++)),
    compressor(kind),
    async (compressed: AsyncIterable<Buffer>) => {
      for await (const chunk of compressed) chunks.push(chunk);
    },
  );
  return { data: Buffer.concat(chunks), items: count };
}

/**
 * Reads the archive of session `id` from `chunks` (compressed bytes); `where` names the archive
 * in error messages. Any damage (unknown codec, bad compressed data, checksum mismatch,
 * truncation, another session) is an ArchiveCorruptError.
 */
export async function readArchiveData(
  chunks: AsyncIterable<Buffer>,
  id: string,
  where: string,
): Promise<PortableSessionBlock> {
  const iterator = chunks[Symbol.asyncIterator]();
  let first: Buffer | undefined;
  try {
    const next = await iterator.next();
    first = next.done ? Buffer.alloc(0) : next.value;
  } catch (error) {
    throw new ArchiveCorruptError(id, where, (error as Error).message, error);
  }
  const head = first;
  const codec = codecOf(head);
  const decompress = codec === null ? undefined : decompressor(codec);
  if (decompress === null) {
    throw new ArchiveCorruptError(
      id,
      where,
      "it is zstd-compressed and this Node.js has no zstd: use Node >= 22.15 (or >= 23.8 on the 23 line)",
    );
  }
  if (decompress === undefined) {
    throw new ArchiveCorruptError(
      id,
      where,
      head.length === 0 ? "it is empty" : "neither gzip nor zstd data",
    );
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (let n = await iterator.next(); !n.done; n = await iterator.next()) yield n.value;
  }
  const input = decompress;
  // pipeline (not pipe) so a failing source (an I/O error) also fails the read below.
  pipeline(Readable.from(all()), decompress, () => {});
  try {
    for await (const block of readPortable(input)) {
      if (block.session.id === id) {
        input.destroy();
        return block;
      }
    }
  } catch (error) {
    input.destroy();
    throw new ArchiveCorruptError(id, where, (error as Error).message, error);
  }
  throw new ArchiveCorruptError(id, where, `it does not hold session '${id}'`);
}
