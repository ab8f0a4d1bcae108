/**
 * Chat Completions message content → Responses content parts, per role as OpenAI allows them: a
 * user message takes `text`, `image_url`, `file` and `input_audio` parts; an assistant message
 * `text` and `refusal`; system, developer and tool messages `text` only. Parts keep their index
 * (`messages[i].content[j]` is part `j` of the item), so a refusal further down (an upstream that
 * cannot take the part) can be named where the client sent it. A malformed or misplaced part is a
 * 400 naming it, never dropped: the model would answer as if it were there.
 */
import type { JsonObject } from "../../store/types.ts";
import { isPlainObject } from "../../store/validate.ts";
import { bad } from "./request-fields.ts";

/** Chat's (and Responses') image detail levels; `original` is the newest, in the `openai` SDK's types. */
export const IMAGE_DETAILS = ["auto", "low", "high", "original"] as const;
/** The audio formats Chat Completions accepts in `input_audio`. */
export const AUDIO_FORMATS = ["wav", "mp3"] as const;

type Role = "user" | "assistant" | "system" | "developer" | "tool";

/** What each role takes, for the refusal of any other part. */
const ALLOWED: Record<Role, string> = {
  user: "text, image_url, file and input_audio parts",
  assistant: "only text and refusal parts",
  system: "only text parts",
  developer: "only text parts",
  tool: "only text parts",
};

/** Where a misplaced media part can go instead. */
const MEDIA_HINT: Record<Role, string> = {
  user: "",
  assistant: " Send images, files and audio in a user message.",
  system: " Send images, files and audio in a user message.",
  developer: " Send images, files and audio in a user message.",
  tool: " Send images, files and audio in a user message after the tool message.",
};

const USER_PARTS = new Set(["text", "image_url", "file", "input_audio"]);

function refuse(role: Role, type: string, param: string): never {
  const media = USER_PARTS.has(type) ? MEDIA_HINT[role] : "";
  return bad(`${param}: ${role} messages take ${ALLOWED[role]}, not '${type.slice(0, 64)}'.${media}`, param);
}

/** The checked parts of a content array (string content is the caller's); `[]` for null or absent. */
function partsOf(content: unknown, param: string): Record<string, unknown>[] {
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content)) bad(`${param} must be a string or an array of content parts.`, param);
  return content.map((part, j) => {
    if (!isPlainObject(part) || typeof part.type !== "string") {
      bad(
        `${param}[${j}] must be a content part: an object with a type, e.g. { "type": "text", "text": "…" }.`,
        `${param}[${j}]`,
      );
    }
    return part;
  });
}

function text(part: Record<string, unknown>, param: string): string {
  if (typeof part.text !== "string") bad(`${param}.text must be a string.`, `${param}.text`);
  return part.text;
}

/** A system, developer or tool message's text: text parts joined, as Chat does. */
export function chatText(content: unknown, param: string, role: "system" | "developer" | "tool"): string {
  if (typeof content === "string") return content;
  return partsOf(content, param)
    .map((part, j) =>
      part.type === "text"
        ? text(part, `${param}[${j}]`)
        : refuse(role, part.type as string, `${param}[${j}]`),
    )
    .join("");
}

/**
 * An assistant message's parts: `text` → `output_text`, `refusal` → `refusal`. A `refusal` field
 * (how a completion's message carries one, replayed as it came) is its own part unless the
 * content already holds a refusal part.
 */
export function chatAssistantParts(message: Record<string, unknown>, param: string): JsonObject[] {
  const content = message.content;
  const parts: JsonObject[] =
    typeof content === "string"
      ? content === ""
        ? []
        : [{ type: "output_text", text: content }]
      : partsOf(content, `${param}.content`).map((part, j) => assistantPart(part, `${param}.content[${j}]`));
  const refusal = message.refusal;
  if (refusal !== undefined && refusal !== null) {
    if (typeof refusal !== "string") bad(`${param}.refusal must be a string or null.`, `${param}.refusal`);
    if (refusal !== "" && !parts.some((p) => p.type === "refusal")) parts.push({ type: "refusal", refusal });
  }
  return parts;
}

function assistantPart(part: Record<string, unknown>, param: string): JsonObject {
  if (part.type === "text") return { type: "output_text", text: text(part, param) };
  if (part.type !== "refusal") refuse("assistant", part.type as string, param);
  if (typeof part.refusal !== "string") bad(`${param}.refusal must be a string.`, `${param}.refusal`);
  return { type: "refusal", refusal: part.refusal };
}

/** A user message's parts, index for index; a string (or null) is one `input_text` part. */
export function chatUserParts(content: unknown, param: string): JsonObject[] {
  if (typeof content === "string") return [{ type: "input_text", text: content }];
  const parts = partsOf(content, param);
  if (parts.length === 0) return [{ type: "input_text", text: "" }];
  return parts.map((part, j) => userPart(part, `${param}[${j}]`));
}

function userPart(part: Record<string, unknown>, param: string): JsonObject {
  switch (part.type) {
    case "text":
      return { type: "input_text", text: text(part, param) };
    case "image_url":
      return imagePart(part.image_url, `${param}.image_url`);
    case "file":
      return filePart(part.file, `${param}.file`);
    case "input_audio":
      return audioPart(part.input_audio, `${param}.input_audio`);
    default:
      return refuse("user", part.type as string, param);
  }
}

/** `{url, detail}` → `input_image`; detail defaults to `auto`, which the Responses API requires. */
function imagePart(raw: unknown, param: string): JsonObject {
  if (!isPlainObject(raw)) bad(`${param} must be { url, detail }.`, param);
  if (typeof raw.url !== "string" || raw.url === "") {
    bad(`${param}.url must be an image URL: https://… or a base64 data: URL.`, `${param}.url`);
  }
  const detail = raw.detail ?? "auto";
  if (typeof detail !== "string" || !(IMAGE_DETAILS as readonly string[]).includes(detail)) {
    bad(`${param}.detail must be one of ${IMAGE_DETAILS.join(", ")}.`, `${param}.detail`);
  }
  return { type: "input_image", image_url: raw.url, detail };
}

/** `{file_data | file_id, filename}` → `input_file`: exactly one source, so none is dropped. */
function filePart(raw: unknown, param: string): JsonObject {
  if (!isPlainObject(raw)) bad(`${param} must be { file_data, filename } or { file_id }.`, param);
  const out: JsonObject = { type: "input_file" };
  for (const key of ["file_data", "file_id", "filename"] as const) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || value === "")
      bad(`${param}.${key} must be a non-empty string.`, `${param}.${key}`);
    out[key] = value;
  }
  if ((out.file_data === undefined) === (out.file_id === undefined)) {
    bad(
      `${param} needs exactly one of file_data (base64, e.g. data:application/pdf;base64,…) and file_id (a file uploaded to OpenAI).`,
      param,
    );
  }
  return out;
}

/** `{data, format}` → `input_audio`, the same shape in both APIs. */
function audioPart(raw: unknown, param: string): JsonObject {
  if (!isPlainObject(raw)) bad(`${param} must be { data, format }.`, param);
  if (typeof raw.data !== "string" || raw.data === "") {
    bad(`${param}.data must be the base64 audio.`, `${param}.data`);
  }
  if (typeof raw.format !== "string" || !(AUDIO_FORMATS as readonly string[]).includes(raw.format)) {
    bad(`${param}.format must be one of ${AUDIO_FORMATS.join(", ")}.`, `${param}.format`);
  }
  return { type: "input_audio", input_audio: { data: raw.data, format: raw.format } };
}
