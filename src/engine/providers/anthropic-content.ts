/**
 * Responses content parts → Anthropic content blocks: text, images and files. A part the Messages
 * API cannot receive is never dropped (Claude would answer as if the image or document had not
 * been sent): in the request's own input it is refused, a 400 naming the part; in history it
 * becomes a text note saying what was left out (unsendable.ts).
 */

import { dataUrlBytes, parseDataUrl } from "./data-url.ts";
import { contentText } from "./output.ts";
import { isUnsendable, noteOrRefuse, partLabel, type Unsendable } from "./unsendable.ts";

type BlockSource =
  | { type: "url"; url: string }
  | { type: "base64"; media_type: string; data: string }
  | { type: "text"; media_type: "text/plain"; data: string };

export type AnthropicBlock =
  | { type: "text"; text: string }
  | { type: "image"; source: Exclude<BlockSource, { type: "text" }> }
  | { type: "document"; source: BlockSource; title?: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string | ToolResultBlock[] };

/** What a `tool_result` may hold besides a plain string: text, image and document blocks. */
export type ToolResultBlock = Extract<AnthropicBlock, { type: "text" | "image" | "document" }>;

interface Part {
  type?: unknown;
  text?: unknown;
  image_url?: unknown;
  file_id?: unknown;
  file_data?: unknown;
  file_url?: unknown;
  filename?: unknown;
}

const OPENAI_FILE_ID = "Anthropic cannot read files uploaded to OpenAI (a file_id)";

/**
 * A user message's content as blocks. `param` names it in the client's request
 * (`input[2].content`) when it is the request's own, for refusals; null for history, whose parts
 * Anthropic cannot take become notes.
 */
export function userBlocks(content: unknown, param: string | null): AnthropicBlock[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  return content.map((part, i) => {
    const block = partBlock(part as Part);
    if (!isUnsendable(block)) return block;
    return { type: "text", text: noteOrRefuse(block, param === null ? null : `${param}[${i}]`) };
  });
}

/** A tool output as `tool_result` content: a string, or blocks when it holds images or files. */
export function toolResultContent(output: unknown, param: string | null): string | ToolResultBlock[] {
  if (typeof output === "string") return output;
  const hasMedia =
    Array.isArray(output) &&
    output.some((part) => {
      const type = (part as Part).type;
      return type === "input_image" || type === "input_file";
    });
  if (!hasMedia) return contentText(output);
  // Anthropic rejects empty text blocks here as in messages.
  return userBlocks(output, param).filter(
    (block) => block.type !== "text" || block.text !== "",
  ) as ToolResultBlock[];
}

function partBlock(p: Part): AnthropicBlock | Unsendable {
  if (p.type === "input_image") return imageBlock(p);
  if (p.type === "input_file") return documentBlock(p);
  if (typeof p.text === "string") return { type: "text", text: p.text };
  return {
    label: partLabel(p),
    reason: "Anthropic has no content block for it",
    fix: "Anthropic takes input_text, input_image (an image_url) and input_file (file_data or file_url).",
  };
}

function imageBlock(p: Part): AnthropicBlock | Unsendable {
  if (typeof p.image_url !== "string") {
    return {
      label: partLabel(p),
      reason: typeof p.file_id === "string" ? OPENAI_FILE_ID : "it has no image_url",
      fix: "Give image_url as an https URL or a base64 data: URL.",
    };
  }
  const url = parseDataUrl(p.image_url);
  if (url === null) return { type: "image", source: { type: "url", url: p.image_url } };
  // Anthropic fetches only http(s) URLs: a data: URL goes inline, whatever its parameters.
  if (url.mediaType === "") {
    return {
      label: partLabel(p),
      reason: "Anthropic needs an image's media type",
      detail: "this data: URL gives none",
      fix: "Give image_url as data:image/png;base64,… (or image/jpeg, image/gif, image/webp).",
    };
  }
  const data = url.base64 ? url.data : dataUrlBytes(url).toString("base64");
  return { type: "image", source: { type: "base64", media_type: url.mediaType, data } };
}

const FIX_FILE =
  "Give file_data (a base64 PDF or text file, e.g. data:application/pdf;base64,…) or file_url (a PDF's https URL).";

/** An `input_file` as a `document`: a PDF (inline or by URL) or a plain text file. */
function documentBlock(p: Part): AnthropicBlock | Unsendable {
  const title = typeof p.filename === "string" && p.filename !== "" ? { title: p.filename } : {};
  if (typeof p.file_data === "string") {
    const source = inlineDocument(p.file_data, p.filename);
    if (isUnsendable(source)) return { ...source, label: partLabel(p) };
    return { type: "document", source, ...title };
  }
  if (typeof p.file_url === "string") {
    return { type: "document", source: { type: "url", url: p.file_url }, ...title };
  }
  return {
    label: partLabel(p),
    reason: typeof p.file_id === "string" ? OPENAI_FILE_ID : "it has neither file_data nor file_url",
    fix: FIX_FILE,
  };
}

/**
 * `file_data` is a `data:` URL or bare base64 (as OpenAI takes it). Anthropic reads PDFs as
 * base64 and other documents only as plain text: `text/*` files are decoded and sent as text.
 */
function inlineDocument(fileData: string, filename: unknown): BlockSource | Unsendable {
  const url = parseDataUrl(fileData);
  const declared = url?.mediaType ?? "";
  const bytes = url ? dataUrlBytes(url) : Buffer.from(fileData, "base64");
  const isPdf =
    declared === "application/pdf" ||
    bytes.toString("latin1", 0, 5) === "%PDF-" ||
    (declared === "" && typeof filename === "string" && /\.pdf$/i.test(filename));
  if (isPdf) return { type: "base64", media_type: "application/pdf", data: bytes.toString("base64") };
  const isText =
    declared.startsWith("text/") ||
    (declared === "" &&
      typeof filename === "string" &&
      /\.(txt|md|markdown|csv|tsv|json|ya?ml|xml|html?|log)$/i.test(filename));
  if (isText) return { type: "text", media_type: "text/plain", data: bytes.toString("utf8") };
  return {
    label: "input_file",
    reason: "Anthropic reads only PDF and plain text documents",
    detail: declared
      ? `this is a ${declared.slice(0, 100)} file`
      : "this file has no data: media type and no known file name extension",
    fix: "Convert it to PDF or text.",
  };
}
