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
  let data: string[] = [];
  for await (const chunk of chunks) {
    buffer += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let newline = buffer.indexOf("\n", start); newline !== -1; newline = buffer.indexOf("\n", start)) {
      let line = buffer.slice(start, newline);
      start = newline + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (data.length > 0) yield { event, data: data.join("\n") };
        event = undefined;
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
    }
    buffer = buffer.slice(start);
  }
  // A stream that ends without the final blank line still delivers its last event.
  if (buffer.length > 0 && buffer.startsWith("data:")) data.push(buffer.slice(5).trimStart());
  if (data.length > 0) yield { event, data: data.join("\n") };
}
