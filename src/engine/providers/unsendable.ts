/**
 * Content parts an upstream API cannot receive. In the request's own input such a part is
 * refused (`UnsupportedContentError`, a 400 whose `param` points into the client's `input`): the
 * client learns at once and can send it another way. In history (stored by an earlier turn, which
 * may have gone to another provider, or by the refused turn itself: input is written before the
 * model is called) refusing would fail every later turn of the conversation, so the part is
 * replaced by a short text note saying what was left out and why. Never dropped in silence: the
 * model would answer as if the image or document were there.
 */
import { UnsupportedContentError } from "./errors.ts";
import type { TurnRequest } from "./types.ts";

/** Why one part cannot be sent, worded for both the refusal and the note. */
export interface Unsendable {
  /** The part as a note names it: `input_file "report.docx"`, `input_image`, `'input_audio' part`. */
  label: string;
  /** Why, one clause naming the API: `Anthropic reads only PDF and plain text documents`. */
  reason: string;
  /** For the refusal only: what this part is, when the reason alone does not say it. */
  detail?: string;
  /** For the refusal only: what the client can send instead. */
  fix: string;
}

/** Tells an `Unsendable` from a translated part in a translator's result. */
export function isUnsendable(value: object): value is Unsendable {
  return "label" in value && "reason" in value && "fix" in value;
}

/** The label of a part of type `type`: its file name when it has one. */
export function partLabel(part: { type?: unknown; filename?: unknown }): string {
  const type = typeof part.type === "string" ? part.type.slice(0, 64) : "";
  if (type === "") return "a content part without a type";
  const name = typeof part.filename === "string" && part.filename !== "" ? part.filename.slice(0, 200) : null;
  if (type === "input_file" || type === "input_image") return name ? `${type} ${JSON.stringify(name)}` : type;
  return `'${type}' part`;
}

/**
 * The note standing in for `unsendable` in history; throws the refusal when `param` is set (the
 * part is in the request's own input, at `param`).
 */
export function noteOrRefuse(unsendable: Unsendable, param: string | null): string {
  const { label, reason, detail, fix } = unsendable;
  if (param === null) return `[${label} left out: ${reason}]`;
  throw new UnsupportedContentError(
    `${param}: this ${label} cannot be sent: ${reason}${detail ? ` (${detail})` : ""}. ${fix}`,
    { param },
  );
}

/**
 * Where `request.input[index]` came from: its index in the client's request `input`, or null for
 * history. Without `input_origin` (a request built by a caller, not the turn engine) every item
 * is the caller's own, at its own index.
 */
export function requestIndex(request: TurnRequest, index: number): number | null {
  if (request.input_origin === undefined) return index;
  return request.input_origin[index] ?? null;
}
