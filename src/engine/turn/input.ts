/**
 * Normalizes the Responses API `input` (a string, or items that may use the "easy" message
 * form `{ role, content: "text" }`) into stored item bodies in canonical Responses shape, and
 * checks items as both a turn's input and an item create (`…/items`) require them.
 */
import { checkNoControlChars } from "../../security/hostile-input.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import type { JsonObject } from "../../store/types.ts";
import { checkItemId, checkJson, checkSize, isPlainObject, LIMITS } from "../../store/validate.ts";
import { keepUpstreamId, PIN_FIELD, withParticipantName } from "../context/items.ts";
import { jsonFitsIn } from "./json-bound.ts";

const INPUT_ROLES = new Set(["user", "system", "developer", "assistant"]);
const ACCEPTED_TYPES = new Set(["message", "function_call", "function_call_output", "reasoning"]);
const TEXT_PARTS = new Set(["input_text", "output_text"]);
/** OpenAI's item statuses; an item is stored and sent upstream with its status as given. */
const STATUSES = new Set(["in_progress", "completed", "incomplete"]);

function textPart(role: string, text: string): JsonObject {
  return { type: role === "assistant" ? "output_text" : "input_text", text };
}

/**
 * A message's participant name (Chat's `messages[i].name`; in Responses input, and as listed,
 * `holdfast.name`): a non-empty string, stored, so without control characters.
 */
export function checkParticipantName(value: unknown, param: string): string {
  if (typeof value !== "string" || value === "") {
    throw new InvalidArgumentError(`${param} must be a non-empty string (the participant's name).`, {
      param,
    });
  }
  checkNoControlChars(value, param);
  return value;
}

/** The participant name a message item carries in its Holdfast marker, checked; null when none. */
function markerName(raw: Record<string, unknown>, param: string): string | null {
  const marker = raw[PIN_FIELD];
  if (!isPlainObject(marker) || marker.name === undefined) return null;
  return checkParticipantName(marker.name, `${param}.${PIN_FIELD}.name`);
}

function checkMessage(raw: Record<string, unknown>, param: string): void {
  markerName(raw, param);
  const role = raw.role;
  if (typeof role !== "string" || !INPUT_ROLES.has(role)) {
    throw new InvalidArgumentError(`${param}.role must be one of user, assistant, system, developer.`, {
      param: `${param}.role`,
    });
  }
  const content = raw.content;
  if (typeof content === "string") return;
  if (!Array.isArray(content) || !content.every(isPlainObject)) {
    throw new InvalidArgumentError(`${param}.content must be a string or an array of content parts.`, {
      param: `${param}.content`,
    });
  }
  for (const [i, part] of content.entries()) {
    if (typeof part.type !== "string") {
      throw new InvalidArgumentError(`${param}.content[${i}].type must be a string.`, {
        param: `${param}.content[${i}].type`,
      });
    }
    if (TEXT_PARTS.has(part.type) && typeof part.text !== "string") {
      throw new InvalidArgumentError(`${param}.content[${i}].text must be a string.`, {
        param: `${param}.content[${i}].text`,
      });
    }
  }
}

/**
 * A checked message (see `checkMessage`) in canonical shape. Of the Holdfast marker only the
 * participant name is kept (pinning is the items API's, not a turn's).
 */
function normalizeMessage(raw: Record<string, unknown>): JsonObject {
  const role = raw.role as string;
  const content = raw.content;
  const message: JsonObject = {
    type: "message",
    role,
    content: typeof content === "string" ? [textPart(role, content)] : (content as JsonObject[]),
    ...(typeof raw.status === "string" ? { status: raw.status } : {}),
  };
  const name = markerName(raw, "input"); // checked already, named, by checkMessage
  return name === null ? message : withParticipantName(message, name);
}

/** `call_id` and `name` are names: stored as columns, so without control characters. */
function requireString(raw: Record<string, unknown>, key: string, param: string): void {
  const value = raw[key];
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidArgumentError(`${param}.${key} must be a non-empty string.`, {
      param: `${param}.${key}`,
    });
  }
  checkNoControlChars(value, `${param}.${key}`);
}

/** A supplied item id, checked now: the store would refuse it only after the turn wrote a session. */
function itemId(
  raw: Record<string, unknown>,
  param: string,
  seen: Set<string>,
  list: string,
): string | undefined {
  if (typeof raw.id !== "string") return undefined;
  const id = checkItemId(raw.id, `${param}.id`);
  if (seen.has(id))
    throw new InvalidArgumentError(`Item id '${id}' appears twice in ${list}.`, { param: `${param}.id` });
  seen.add(id);
  return id;
}

/** Checks item `index` of `list` (`input`, `items`); returns it with its type and supplied id. */
function checkItem(
  raw: unknown,
  list: string,
  index: number,
  seen: Set<string>,
): { raw: Record<string, unknown>; type: string; id: string | undefined } {
  const param = `${list}[${index}]`;
  if (!isPlainObject(raw)) throw new InvalidArgumentError(`${param} must be an object.`, { param });
  // The store's nesting limit, checked before a turn creates its session (and named input[i]).
  checkJson(raw, param);
  const type = raw.type ?? "message";
  if (typeof type !== "string" || !ACCEPTED_TYPES.has(type)) {
    throw new InvalidArgumentError(
      `${param}.type '${String(type)}' is not supported; use message, function_call, function_call_output or reasoning.`,
      { param: `${param}.type` },
    );
  }
  const id = itemId(raw, param, seen, list);
  if (raw.status !== undefined && raw.status !== null && !STATUSES.has(raw.status as string)) {
    throw new InvalidArgumentError(`${param}.status must be in_progress, completed or incomplete.`, {
      param: `${param}.status`,
    });
  }
  if (type === "message") checkMessage(raw, param);
  if (type === "function_call") {
    requireString(raw, "call_id", param);
    requireString(raw, "name", param);
    if (typeof raw.arguments !== "string") {
      throw new InvalidArgumentError(`${param}.arguments must be a JSON string.`, {
        param: `${param}.arguments`,
      });
    }
  }
  if (type === "function_call_output") {
    requireString(raw, "call_id", param);
    if (typeof raw.output !== "string" && !Array.isArray(raw.output)) {
      throw new InvalidArgumentError(`${param}.output must be a string or content parts.`, {
        param: `${param}.output`,
      });
    }
  }
  return { raw, type, id };
}

/**
 * Checks items a client adds (`list` names them in errors: `items` for an item create) as a
 * turn checks its input: supported types, message roles and text parts, call fields, ids
 * well-formed and unique in the list. Throws the first problem; the items are not changed.
 */
export function checkItems(items: readonly unknown[], list: string): void {
  const seen = new Set<string>();
  for (const [index, raw] of items.entries()) checkItem(raw, list, index, seen);
}

/**
 * Returns item bodies (without ids unless the caller gave them) ready for `store.append`, with
 * everything the store checks per item (ids, at least one item) checked before a turn writes. A
 * reasoning item's given id is also kept as its upstream id (`keepUpstreamId`).
 */
export function normalizeInput(input: unknown): { id?: string; content: JsonObject }[] {
  if (typeof input === "string") return [{ content: normalizeMessage({ role: "user", content: input }) }];
  if (!Array.isArray(input)) {
    throw new InvalidArgumentError("input must be a string or an array of items.", { param: "input" });
  }
  if (input.length === 0 || input.length > LIMITS.itemsPerAppend) {
    throw new InvalidArgumentError(`input must hold 1 to ${LIMITS.itemsPerAppend} items.`, {
      param: "input",
    });
  }
  const seen = new Set<string>();
  return input.map((entry, index) => {
    const { raw, type, id } = checkItem(entry, "input", index, seen);
    if (type === "message") return { id, content: normalizeMessage(raw) };
    const { id: _drop, ...body } = raw;
    return keepUpstreamId({ id, content: body as JsonObject });
  });
}

/**
 * The store's per-item size limit (see `LIMITS.itemBytes`), measured as the store measures it,
 * checked before a turn writes anything: the store refuses such an item only at the input
 * append, after a turn without a conversation had created its session. Same code as the store's
 * refusal (`payload_too_large`), named `${list}[i]`.
 */
export function checkItemSizes(
  items: readonly { content: JsonObject }[],
  maxBytes: number,
  list: string,
): void {
  for (let index = 0; index < items.length; index++) {
    const content = (items[index] as { content: JsonObject }).content;
    // Serialized (and named) only when it might be over: the store serializes it when it writes it.
    if (jsonFitsIn(content, maxBytes)) continue;
    const param = `${list}[${index}]`;
    checkSize(Buffer.byteLength(JSON.stringify(content)), maxBytes, param, param);
  }
}
