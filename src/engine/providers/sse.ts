/**
 * A small Server-Sent Events parser over raw body chunks. It handles `\r\n`, multi-line `data:`,
 * comments and events split across chunks; it ignores `id:` and `retry:` (upstreams do not use them).
 */

export interface SseEvent {
  /** The `event:` field, when present (Anthropic and Responses name their events; Chat Completions does not). */
  event: string | undefined;
  data: string;
}

/** Yields one `SseEvent` per blank-line-terminated block. */
export async function* parseSse(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let event: string | undefined;
  // The data lines joined by "\n" (undefined: none yet). Nearly every event has one data line,
  // so this is a string rather than an array joined per event.
  let data: string | undefined;
  for await (const chunk of chunks) {
    buffer += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let newline = buffer.indexOf("\n", start); newline !== -1; newline = buffer.indexOf("\n", start)) {
      // Fields are read in place: only a value is sliced out of the buffer, never the whole line.
      const end = newline > start && buffer.charCodeAt(newline - 1) === CR ? newline - 1 : newline;
      const lineStart = start;
      start = newline + 1;
      if (end === lineStart) {
        if (data !== undefined) yield { event, data };
        event = undefined;
        data = undefined;
        continue;
      }
      if (buffer.charCodeAt(lineStart) === COLON) continue;
      const colon = buffer.indexOf(":", lineStart);
      const fieldEnd = colon === -1 || colon > end ? end : colon;
      let valueStart = fieldEnd === end ? end : fieldEnd + 1;
      if (valueStart < end && buffer.charCodeAt(valueStart) === SPACE) valueStart++;
      const fieldLength = fieldEnd - lineStart;
      if (fieldLength === 4 && buffer.startsWith("data", lineStart)) {
        const value = buffer.slice(valueStart, end);
        data = data === undefined ? value : `${data}\n${value}`;
      } else if (fieldLength === 5 && buffer.startsWith("event", lineStart)) {
        event = buffer.slice(valueStart, end);
      }
    }
    buffer = start === 0 ? buffer : buffer.slice(start);
  }
  // A stream that ends without the final blank line still delivers its last event.
  if (buffer.length > 0 && buffer.startsWith("data:")) {
    const value = buffer.slice(5).trimStart();
    data = data === undefined ? value : `${data}\n${value}`;
  }
  if (data !== undefined) yield { event, data };
}

const CR = 13;
const COLON = 58;
const SPACE = 32;
