/**
 * Splits a byte stream into lines on `\n` only. Node's readline also breaks on `\r` and on
 * U+2028/U+2029, which JSON.stringify leaves raw inside strings, so it would tear valid JSONL
 * lines apart. Splitting on bytes also keeps multi-byte characters whole across chunks.
 */
import type { Readable } from "node:stream";

export interface Line {
  text: string;
  /** False only for a last line that ends without `\n` (a crash mid-write, or a hand-edited file). */
  terminated: boolean;
}

/** Lines of `input`; a trailing `\r` is kept (callers that accept CRLF strip it). */
export async function* readLines(
  input: Readable | AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): AsyncGenerator<Line> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let data = rest.length > 0 ? Buffer.concat([rest, buf]) : buf;
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      yield { text: data.toString("utf8", start, nl), terminated: true };
      start = nl + 1;
    }
    rest = start < data.length ? Buffer.from(data.subarray(start)) : Buffer.alloc(0);
    data = rest;
  }
  if (rest.length > 0) yield { text: rest.toString("utf8"), terminated: false };
}
