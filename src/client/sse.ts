/**
 * Server-sent events over a fetch body stream (no EventSource: it cannot POST or send headers).
 * Follows the WHATWG parsing rules that matter here: `\n`, `\r\n` or `\r` line ends, `data:`
 * lines joined by `\n`, one optional space after the colon, comments (`:`) ignored, an event
 * the body ends in the middle of discarded.
 */

/** One event: its `event:` name (default `message`) and its data. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Parses an SSE byte stream into events; ends when the stream ends. */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lineEnd = /\r\n|\r|\n/g;
      let start = 0;
      // A trailing `\r` might be the first half of `\r\n`: keep it until more bytes arrive.
      for (let match = lineEnd.exec(buffer); match !== null; match = lineEnd.exec(buffer)) {
        if (match[0] === "\r" && match.index === buffer.length - 1 && !done) break;
        const line = buffer.slice(start, match.index);
        start = match.index + match[0].length;
        if (line === "") {
          if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
          event = "";
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
      if (done) break;
    }
    // An event not closed by a blank line when the body ends was cut: it is discarded (as the
    // WHATWG rules say), never dispatched with part of its data.
    finished = true;
  } finally {
    // The consumer stopped early (break, throw, abort): close the connection, or the server
    // would keep generating (and billing) a turn nobody reads.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
