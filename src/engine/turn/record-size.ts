/**
 * A turn's response record keeps what the request asked for (instructions, tools, text format,
 * metadata) and is committed with the output, after the model call. A record over the store's
 * item limit would fail that commit and leave the input stored with no reply, so a request whose
 * record cannot fit is refused before anything is written or any model is paid.
 */
import { PayloadTooLargeError } from "../../store/errors.ts";
import { jsonFitsIn } from "./json-bound.ts";
import type { ParsedResponseRequest } from "./request.ts";

/** Room for the record's own fields: status, usage, output ids, metadata (≤ 16 × 576 bytes). */
const RECORD_MARGIN_BYTES = 16 * 1024;
/** One input item's id in `input_item_ids`, quotes and comma included (ids are ≤ 64 bytes). */
const INPUT_ID_BYTES = 67;

type RecordedParts = Pick<
  ParsedResponseRequest,
  "input" | "instructions" | "tools" | "text" | "user" | "sampling"
>;

const bytesOf = (value: string | null | undefined): number => (value ? Buffer.byteLength(value) : 0);

export function checkRecordSize(request: RecordedParts, maxItemBytes: number): void {
  const budget = maxItemBytes - RECORD_MARGIN_BYTES - request.input.length * INPUT_ID_BYTES;
  // Tools and text format are serialized (and every part listed) only when the record might not
  // fit: the store serializes them in the record when it writes it.
  const strings =
    bytesOf(request.instructions) + bytesOf(request.user) + bytesOf(request.sampling?.prompt_cache_key);
  if (strings <= budget && jsonFitsIn([request.tools, request.text], budget - strings)) return;
  const parts: [param: string, bytes: number][] = [
    ["instructions", request.instructions === null ? 0 : Buffer.byteLength(request.instructions)],
    // Serialized only when present: most turns carry no tools and no text format.
    ["tools", request.tools.length === 0 ? 0 : Buffer.byteLength(JSON.stringify(request.tools))],
    ["text", request.text === null ? 0 : Buffer.byteLength(JSON.stringify(request.text))],
    // Echoed on the Response object; neither has a length limit of its own.
    ["user", bytesOf(request.user)],
    ["prompt_cache_key", bytesOf(request.sampling?.prompt_cache_key)],
  ];
  const total = parts.reduce((sum, [, bytes]) => sum + bytes, 0);
  if (total <= budget) return;
  const [param] = parts.reduce((largest, part) => (part[1] > largest[1] ? part : largest));
  const sizes = parts.map(([name, bytes]) => `${name} ${bytes}`).join(", ");
  throw new PayloadTooLargeError(
    `This turn's response record would keep ${total} bytes of the request (${sizes}); one stored item ` +
      `holds at most ${maxItemBytes} bytes. Send fewer or smaller tools, or shorter instructions.`,
    { param },
  );
}
