/**
 * Compressed portable files: archives are gzip or zstd (src/lifecycle/archive-format.ts), and an
 * export is often kept as `backup.jsonl.gz`. The codec is recognised from the data's magic bytes,
 * never from a file name or a setting.
 */
import { pipeline, Readable, type Transform } from "node:stream";
import * as zlib from "node:zlib";
import { PortableFormatError } from "./format.ts";

/** The subset of node:zlib's zstd API used here (added in Node 22.15 and 23.8). */
interface ZstdApi {
  createZstdCompress?: () => Transform;
  createZstdDecompress?: () => Transform;
}
const zstd = zlib as unknown as ZstdApi;

export type Codec = "gzip" | "zstd";

/** Whether this runtime can write and read zstd. */
export function zstdAvailable(): boolean {
  return typeof zstd.createZstdCompress === "function" && typeof zstd.createZstdDecompress === "function";
}

/** A zstd compressor; throws where the runtime has none (check `zstdAvailable` first). */
export function createZstdCompress(): Transform {
  if (!zstdAvailable()) throw new Error("zstd is not available in this Node.js runtime.");
  return zstd.createZstdCompress!();
}

const MAGIC: Record<Codec, number[]> = { gzip: [0x1f, 0x8b], zstd: [0x28, 0xb5, 0x2f, 0xfd] };

/** The codec the first bytes of some data announce, or null for uncompressed data. */
export function codecOf(head: Buffer): Codec | null {
  for (const codec of ["gzip", "zstd"] as const) {
    if (MAGIC[codec].every((b, i) => head[i] === b)) return codec;
  }
  return null;
}

/** A decompressor for `codec`, or null for zstd on a runtime without it. */
export function decompressor(codec: Codec): Transform | null {
  if (codec === "gzip") return zlib.createGunzip();
  return zstdAvailable() ? zstd.createZstdDecompress!() : null;
}

/**
 * The bytes of `input`, decompressed when they start as gzip or zstd data (passed through
 * otherwise). Damaged compressed data (a truncated `.gz`) is a PortableFormatError saying so.
 */
export async function* decompressed(
  input: Readable | AsyncIterable<Buffer | string>,
): AsyncGenerator<Buffer> {
  const iterator = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head = Buffer.from(first.value);
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (let n = await iterator.next(); !n.done; n = await iterator.next()) yield Buffer.from(n.value);
  }
  const codec = codecOf(head);
  if (codec === null) {
    yield* all();
    return;
  }
  const transform = decompressor(codec);
  if (transform === null) {
    throw new PortableFormatError(
      "the file is zstd-compressed and this Node.js has no zstd: use Node >= 22.15 (or >= 23.8 on the 23 line), or decompress it first (zstd -dc).",
      null,
    );
  }
  // pipeline (not pipe): a failing source (an I/O error) fails the read below too.
  pipeline(Readable.from(all()), transform, () => {});
  try {
    for await (const chunk of transform) yield chunk as Buffer;
  } catch (error) {
    throw new PortableFormatError(
      `the ${codec} data is damaged or truncated (${(error as Error).message}); re-export it or restore an intact copy.`,
      null,
    );
  } finally {
    transform.destroy();
  }
}
