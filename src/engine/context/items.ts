/**
 * Item shape helpers for the context engine. Items are stored in OpenAI Responses item shape
 * (`Item.content`); this file is the one place that knows which fields matter for windows:
 * roles, call ids, pin markers and the Holdfast `summary` item.
 */
import { boundIdOf, isUnboundItemId } from "../../store/ids.ts";
import type { Item, JsonObject, JsonValue } from "../../store/types.ts";

/** Item types that carry a tool call; their output must follow them in any window. */
export const CALL_TYPES: ReadonlySet<string> = new Set([
  "function_call",
  "custom_tool_call",
  "computer_call",
  "local_shell_call",
]);
/** Item types that answer a call by `call_id`. */
export const OUTPUT_TYPES: ReadonlySet<string> = new Set([
  "function_call_output",
  "custom_tool_call_output",
  "computer_call_output",
  "local_shell_call_output",
]);

/** Roles whose messages are always kept (instructions to the model). */
export const PINNED_ROLES: ReadonlySet<string> = new Set(["system", "developer"]);

/**
 * The Holdfast pin marker: an item whose body has `"holdfast": { "pinned": true }` (a
 * top-level metadata field providers never see: the gateway strips `holdfast` before sending)
 * is always kept in windows. Only `message` items can be pinned; the marker on tool calls and
 * outputs is ignored, because pinning one half of a pair would break pairing.
 */
export const PIN_FIELD = "holdfast";

/**
 * The id an upstream gave a reasoning item that Holdfast stores under its own id, kept in the
 * marker: `"holdfast": { "upstream_id": "rs_…" }`. OpenAI binds a reasoning item's
 * `encrypted_content` to the id it issued it under and refuses it under any other, so an item with
 * encrypted content goes back to the model under that id (`toModelInput`). Without encrypted
 * content there is nothing to bind and no id is restored (the Responses adapter leaves such an
 * item out: with `store: false` an upstream has nothing to look it up by).
 */
export function replayIdOf(content: JsonObject): string | null {
  if (content.type !== "reasoning" || typeof content.encrypted_content !== "string") return null;
  const marker = content[PIN_FIELD];
  if (!isObject(marker)) return null;
  const id = marker.upstream_id;
  return typeof id === "string" && id !== "" ? id : null;
}

/**
 * A reasoning item a client supplies under an id (one it copied from an upstream's output into
 * `input`, or adds to a conversation) with its upstream id kept, so that its `encrypted_content`
 * goes back under the id the upstream bound it to; the id stays the item's Holdfast id too. The
 * upstream id is the one Holdfast's own id for the item carries (the item came from Holdfast's
 * output: see `newBoundItemId`), else the id itself (copied from the upstream's output). An
 * upstream id the marker already holds stays. Other items are returned as they are.
 */
export function keepUpstreamId<T extends { id?: string; content: JsonObject }>(item: T): T {
  const { id, content } = item;
  if (id === undefined || id === "" || content.type !== "reasoning") return item;
  const marker = isObject(content[PIN_FIELD]) ? content[PIN_FIELD] : {};
  if (typeof marker.upstream_id === "string" && marker.upstream_id !== "") return item;
  // An id Holdfast minted for an upstream item whose id it could not carry names no upstream item:
  // without an upstream id the item is left out of requests, rather than sent under a wrong id
  // the upstream refuses (and with it every later turn of a conversation that holds it).
  if (isUnboundItemId(id)) return item;
  const upstreamId = boundIdOf(id) ?? id;
  return { ...item, content: { ...content, [PIN_FIELD]: { ...marker, upstream_id: upstreamId } } };
}

/**
 * An item's body as clients see it: without the upstream id its marker keeps (Holdfast's
 * bookkeeping, not OpenAI's item shape; the item's id carries it back). A marker left empty goes
 * too; a pin stays. The same object when there is nothing to hide.
 */
export function withoutUpstreamId(content: JsonObject): JsonObject {
  const marker = content[PIN_FIELD];
  if (!isObject(marker) || !("upstream_id" in marker)) return content;
  const { upstream_id: _hidden, ...kept } = marker;
  const { [PIN_FIELD]: _marker, ...rest } = content;
  return Object.keys(kept).length === 0 ? rest : { ...rest, [PIN_FIELD]: kept };
}

export function isCall(item: Item): boolean {
  return CALL_TYPES.has(item.type);
}

export function isOutput(item: Item): boolean {
  return OUTPUT_TYPES.has(item.type);
}

export function callIdOf(item: Pick<Item, "content">): string | null {
  const id = item.content.call_id;
  return typeof id === "string" ? id : null;
}

export function roleOf(item: Item): string | null {
  if (item.role !== null) return item.role;
  const role = item.content.role;
  return typeof role === "string" ? role : null;
}

export function isMessage(item: Item): boolean {
  return item.type === "message";
}

/** System/developer messages and pin-marked messages. */
export function isPinned(item: Item): boolean {
  if (item.type !== "message") return false;
  const role = roleOf(item);
  if (role !== null && PINNED_ROLES.has(role)) return true;
  const marker = item.content[PIN_FIELD];
  return isObject(marker) && marker.pinned === true;
}

/** Whether the item was produced by the model (assistant message, tool call, reasoning). */
export function isAssistantOutput(item: Item): boolean {
  if (item.type === "message") return roleOf(item) === "assistant";
  return CALL_TYPES.has(item.type) || item.type === "reasoning";
}

export function isUserMessage(item: Item): boolean {
  return item.type === "message" && roleOf(item) === "user";
}

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A message's participant name (Chat Completions' `messages[i].name`), kept in the Holdfast
 * marker — `"holdfast": { "name": "ada" }` — because the Responses item shape has no field for
 * it. Chat Completions upstreams get it back as the message's `name` (`toModelInput`); the
 * others never see it. Null when the item carries none.
 */
export function participantNameOf(content: JsonObject): string | null {
  if (content.type !== "message") return null;
  const marker = content[PIN_FIELD];
  if (!isObject(marker)) return null;
  return typeof marker.name === "string" && marker.name !== "" ? marker.name : null;
}

/** Returns a message's `content` with its participant name set in the Holdfast marker. */
export function withParticipantName(content: JsonObject, name: string): JsonObject {
  const marker = isObject(content[PIN_FIELD]) ? content[PIN_FIELD] : {};
  return { ...content, [PIN_FIELD]: { ...marker, name } };
}

/** Returns `content` with `pinned` set in the Holdfast marker, for callers that append pinned items. */
export function pinContent(content: JsonObject): JsonObject {
  const marker = isObject(content[PIN_FIELD]) ? content[PIN_FIELD] : {};
  return { ...content, [PIN_FIELD]: { ...marker, pinned: true } };
}

/** Whether an output carries images or files among its content parts (never pruned). */
export function outputHasMedia(item: Item): boolean {
  const output = item.content.output;
  if (!Array.isArray(output)) return false;
  return output.some((part) => isObject(part) && (part.type === "input_image" || part.type === "input_file"));
}

/** Text of an output item when it is a plain string (the only shape pruning rewrites). */
export function outputText(item: Item): string | null {
  const output = item.content.output;
  return typeof output === "string" ? output : null;
}
