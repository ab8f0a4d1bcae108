/**
 * Makes an imported item fit the store's item size limit (1 MiB by default). OpenClaw has no
 * such limit: a tool result can hold a whole file, a user message a multi-megabyte photo.
 * Images are replaced by a text note first (largest first), then the longest strings are cut,
 * each cut marked, so the session imports whole and says what was left out.
 */
import type { JsonObject, JsonValue } from "../../store/types.ts";

const size = (value: JsonValue): number => Buffer.byteLength(JSON.stringify(value));

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Paths to every array element that is an `input_image` part, and to every string. */
function collect(
  value: JsonValue,
  path: (string | number)[],
  images: (string | number)[][],
  strings: (string | number)[][],
): void {
  if (typeof value === "string") strings.push(path);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collect(v, [...path, i], images, strings);
  } else if (isObject(value)) {
    if (value.type === "input_image" && typeof path.at(-1) === "number") images.push(path);
    for (const [k, v] of Object.entries(value)) if (k !== "type") collect(v, [...path, k], images, strings);
  }
}

function get(root: JsonValue, path: (string | number)[]): JsonValue {
  let v: JsonValue = root;
  for (const p of path) v = (v as Record<string | number, JsonValue>)[p] as JsonValue;
  return v;
}

function set(root: JsonValue, path: (string | number)[], value: JsonValue): void {
  const parent = get(root, path.slice(0, -1)) as Record<string | number, JsonValue>;
  parent[path.at(-1)!] = value;
}

/** Returns `content` unchanged when it fits, else a shrunken copy and how many bytes were cut. */
export function fitContent(content: JsonObject, maxBytes: number): { content: JsonObject; cutBytes: number } {
  const before = size(content);
  if (before <= maxBytes) return { content, cutBytes: 0 };
  const copy = structuredClone(content);
  const images: (string | number)[][] = [];
  const strings: (string | number)[][] = [];
  collect(copy, [], images, strings);
  images.sort((a, b) => size(get(copy, b)) - size(get(copy, a)));
  for (const path of images) {
    if (size(copy) <= maxBytes) break;
    const bytes = size(get(copy, path));
    set(copy, path, { type: "input_text", text: `[image omitted by holdfast import: ${bytes} bytes]` });
  }
  const live = strings.filter((p) => typeof get(copy, p) === "string");
  live.sort((a, b) => (get(copy, b) as string).length - (get(copy, a) as string).length);
  for (const path of live) {
    const current = size(copy);
    if (current <= maxBytes) break;
    const text = get(copy, path) as string;
    // Cut by characters with a margin for multi-byte text and the marker; loop if still too big.
    const excess = current - maxBytes + 200;
    const keep = Math.max(0, text.length - excess);
    set(
      copy,
      path,
      `${text.slice(0, keep)}\n…[truncated by holdfast import: ${Buffer.byteLength(text) - Buffer.byteLength(text.slice(0, keep))} bytes removed]`,
    );
  }
  for (let i = 0; size(copy) > maxBytes && i < 8; i++) {
    for (const path of live) {
      const text = get(copy, path) as string;
      set(copy, path, text.slice(0, Math.floor(text.length / 2)));
    }
  }
  return { content: copy, cutBytes: before - size(copy) };
}
