/**
 * Responses content parts → Chat Completions content. A user message takes `text`, `image_url`
 * (an image by URL), `file` (`file_data` or an OpenAI `file_id`, with its `filename`) and
 * `input_audio` parts; a `tool` message takes text only. What Chat cannot carry (an image given
 * only by `file_id`, a file given by `file_url`, media in a tool output, an unknown part) is never
 * dropped: refused in the request's own input, a note in history (unsendable.ts).
 */
import { isUnsendable, noteOrRefuse, partLabel, type Unsendable } from "./unsendable.ts";

export type ChatPart = Record<string, unknown>;

interface Part {
  type?: unknown;
  text?: unknown;
  refusal?: unknown;
  image_url?: unknown;
  detail?: unknown;
  file_id?: unknown;
  file_data?: unknown;
  file_url?: unknown;
  filename?: unknown;
  input_audio?: unknown;
}

/**
 * A user message's content. Text alone stays one string (as before: servers that take only string
 * content keep working); with media or a note it is an array of parts. `param` names the content
 * in the client's request (`input[2].content`) when it is the request's own; null for history.
 */
export function chatUserContent(content: unknown, param: string | null): string | ChatPart[] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let plain = true;
  const parts = content.map((part, i): ChatPart => {
    const translated = userPart(part as Part);
    if (!isUnsendable(translated)) {
      if (translated.type !== "text") plain = false;
      return translated;
    }
    plain = false;
    return { type: "text", text: noteOrRefuse(translated, param === null ? null : `${param}[${i}]`) };
  });
  return plain ? parts.map((part) => part.text).join("") : parts;
}

function userPart(p: Part): ChatPart | Unsendable {
  if (typeof p.text === "string") return { type: "text", text: p.text };
  if (typeof p.refusal === "string") return { type: "text", text: p.refusal };
  if (p.type === "input_image") {
    if (typeof p.image_url === "string") {
      const detail = typeof p.detail === "string" ? { detail: p.detail } : {};
      return { type: "image_url", image_url: { url: p.image_url, ...detail } };
    }
    return {
      label: partLabel(p),
      reason:
        typeof p.file_id === "string"
          ? "Chat Completions takes images only by URL, not by file_id"
          : "it has no image_url",
      fix: "Give image_url as an https URL or a base64 data: URL.",
    };
  }
  if (p.type === "input_file") {
    const name = typeof p.filename === "string" ? { filename: p.filename } : {};
    if (typeof p.file_data === "string") return { type: "file", file: { file_data: p.file_data, ...name } };
    if (typeof p.file_id === "string") return { type: "file", file: { file_id: p.file_id, ...name } };
    return {
      label: partLabel(p),
      reason:
        typeof p.file_url === "string"
          ? "Chat Completions takes files only as file_data or file_id, not by file_url"
          : "it has neither file_data nor file_id",
      fix: "Give file_data (base64, e.g. data:application/pdf;base64,…) or the file_id of a file uploaded to OpenAI.",
    };
  }
  if (p.type === "input_audio" && typeof p.input_audio === "object" && p.input_audio !== null) {
    return { type: "input_audio", input_audio: p.input_audio };
  }
  return {
    label: partLabel(p),
    reason: "Chat Completions has no content part for it",
    fix: "Chat Completions takes input_text, input_image (an image_url), input_file (file_data or file_id) and input_audio.",
  };
}

/**
 * A tool output as a `tool` message's text: Chat tool messages carry no images or files, so each
 * such part is refused in the request's own input and becomes a note (on a line of its own) in
 * history. `param` names the output (`input[3].output`) when it is the request's own.
 */
export function chatToolContent(output: unknown, param: string | null): string {
  if (typeof output === "string") return output;
  if (!Array.isArray(output)) return "";
  const lines: string[] = [];
  let text = "";
  for (const [i, part] of (output as Part[]).entries()) {
    if (typeof part.text === "string") text += part.text;
    else if (typeof part.refusal === "string") text += part.refusal;
    else {
      if (text !== "") lines.push(text);
      text = "";
      const unsendable = {
        label: partLabel(part),
        reason: "Chat Completions tool messages carry only text",
        fix: "Send the image or file in a user message after the tool output instead.",
      };
      lines.push(noteOrRefuse(unsendable, param === null ? null : `${param}[${i}]`));
    }
  }
  if (text !== "") lines.push(text);
  return lines.join("\n");
}
