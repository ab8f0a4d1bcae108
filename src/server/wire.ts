/**
 * Translation between the store's records and the wire: OpenAI's conversation and item shapes
 * (snake_case, unix seconds) plus Holdfast's extra fields. Nothing here decides anything; it only
 * renames and converts units, so the gateway can reuse it for `/v1/responses`.
 */
import { wireItem } from "../engine/turn/record.ts";
import type { Item, ItemInput, JsonObject, JsonValue, Page, Session } from "../store/types.ts";

/** A conversation as the HTTP API returns it. */
export interface WireConversation {
  id: string;
  object: "conversation";
  created_at: number;
  metadata: Record<string, string>;
  owner: string | null;
  labels: string[];
  version: number;
  item_count: number;
  token_count: number;
  bytes: number;
  updated_at: number;
  last_active_at: number;
  idle_ttl_ms: number | null;
  expires_at: number | null;
  status: string;
  pinned: boolean;
  fork_parent: { id: string; at_seq: number } | null;
}

/** An item on the wire: OpenAI's Responses item shape, `id` first. */
export type WireItem = { id: string } & JsonObject;

/** Epoch milliseconds → unix seconds (OpenAI's time unit), truncated like OpenAI's. */
export function toUnixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export function toWireConversation(session: Session): WireConversation {
  return {
    id: session.id,
    object: "conversation",
    created_at: toUnixSeconds(session.createdAt),
    metadata: session.metadata,
    owner: session.owner,
    labels: session.labels,
    version: session.version,
    item_count: session.itemCount,
    token_count: session.tokenCount,
    bytes: session.bytes,
    updated_at: toUnixSeconds(session.updatedAt),
    last_active_at: toUnixSeconds(session.lastActiveAt),
    idle_ttl_ms: session.idleTtlMs,
    expires_at: session.expiresAt === null ? null : toUnixSeconds(session.expiresAt),
    status: session.status,
    pinned: session.pinned,
    fork_parent:
      session.forkParent === null
        ? null
        : { id: session.forkParent.sessionId, at_seq: session.forkParent.atSeq },
  };
}

/** A page of conversations as `GET /v1/conversations` returns it (and `sessions ls --json` prints it). */
export interface WireConversationList {
  object: "list";
  data: WireConversation[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
  next_cursor: string | null;
}

export function toWireConversationList(page: Page<Session>): WireConversationList {
  const data = page.data.map(toWireConversation);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: page.nextCursor !== null,
    next_cursor: page.nextCursor,
  };
}

export function toWireItem(item: Item): WireItem {
  return wireItem(item) as WireItem;
}

/**
 * Accepts the input shapes OpenAI accepts for conversation items and stores the canonical item:
 * an "easy" message (`{ role, content: "text" }`, `type` optional) becomes a `message` item with
 * content parts, as OpenAI itself stores it. Returns a new object; the input is not mutated.
 */
export function fromWireItem(raw: JsonObject): ItemInput {
  const { id, ...body } = raw;
  const content: JsonObject =
    body.type === undefined && typeof body.role === "string" ? { type: "message", ...body } : { ...body };
  if (content.type === "message" && typeof content.content === "string") {
    const partType = content.role === "assistant" ? "output_text" : "input_text";
    const part: JsonObject = { type: partType, text: content.content };
    if (partType === "output_text") part.annotations = [];
    content.content = [part];
  }
  if (id === undefined) return { content };
  // A non-string id is left in the content so the store rejects it with a message naming it.
  return typeof id === "string" ? { id, content } : { content: { ...content, id } };
}

/** `"12"`, `W/"12"` or `12` → 12; `*` → undefined (any version). Anything else is not a version. */
export function parseEntityTag(header: string): number | undefined | null {
  const value = header.trim();
  if (value === "*") return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(value);
  return match ? Number(match[1]) : null;
}

export function entityTag(version: number): string {
  return `"${version}"`;
}

export type { JsonValue };
