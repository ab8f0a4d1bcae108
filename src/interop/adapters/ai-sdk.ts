/**
 * `holdfast/adapters/ai-sdk`: Vercel AI SDK chat persistence on a Holdfast store, following the
 * pattern of the AI SDK guide "Chatbot Message Persistence": `createChat()` returns an id,
 * `loadChat(id)` returns the `UIMessage[]` for `useChat({ messages })` / `validateUIMessages`,
 * and `saveChat({ chatId, messages })` is called from `toUIMessageStreamResponse({ onFinish })`
 * with the complete list. Only types come from `ai`.
 *
 * Each UIMessage is one item: a Responses `message` with its text (so the gateway, exports and the
 * dashboard read it like any conversation) plus the whole UIMessage under `ui_message`, which is
 * what `loadChat` returns, so nothing of it is lost. `saveChat` appends only what is new; when the
 * list was edited (a regenerated answer, a message updated by a tool approval) it appends an edit
 * marker hiding the replaced tail plus the new tail in one atomic append, so earlier versions stay
 * stored. Concurrent saves never interleave: each append carries the version it was computed from.
 */
import type { UIMessage } from "ai";
import { InvalidArgumentError, isHoldfastError } from "../../store/errors.ts";
import type { CreateSessionInput, Item, JsonObject, Session, SessionStore } from "../../store/types.ts";
import { dropMarker, readVisibleTail, toItemInputs } from "./edit-log.ts";
import { jsonEqual, toJsonObject } from "./json.ts";
import { openOrCreateSession } from "./open-session.ts";
import { sessionIdFor } from "./session-ids.ts";

/** Field of the stored item that holds the UIMessage as given. */
export const UI_MESSAGE_FIELD = "ui_message";
const SAVE_ATTEMPTS = 20;

/** Options of {@link createChat} and {@link saveChat} when they create the session. */
export type ChatCreateOptions = Omit<CreateSessionInput, "id" | "items">;

/**
 * Creates an empty chat and returns its id (the Holdfast session id, `conv_…`).
 * Session fields (owner, labels, idleTtlMs…) can be given in `options`.
 */
export async function createChat(
  store: SessionStore,
  tenant: string,
  options: ChatCreateOptions = {},
): Promise<string> {
  const session = await store.create(tenant, { ...options, labels: [...(options.labels ?? []), "ai-sdk"] });
  return session.id;
}

/**
 * The chat's messages, oldest first. Throws `not_found` for an unknown chat.
 * A `chatId` that is not a Holdfast id (e.g. from the AI SDK's `generateId()`) is mapped to one
 * deterministically by `sessionIdFor`.
 */
export async function loadChat<M extends UIMessage = UIMessage>(
  store: SessionStore,
  tenant: string,
  chatId: string,
): Promise<M[]> {
  const session = await store.get(tenant, sessionIdOf(chatId));
  const items = await readVisibleTail(store, tenant, session.id, session.lastSeq);
  // Items other writers added that are not messages (function calls of the gateway…) have no
  // UIMessage form; the AI SDK keeps tool activity inside assistant message parts instead.
  return items
    .filter((item) => item.content[UI_MESSAGE_FIELD] !== undefined || item.type === "message")
    .map((item) => fromItem<M>(item));
}

/** Input of {@link saveChat}. */
export interface SaveChatInput<M extends UIMessage = UIMessage> {
  chatId: string;
  /** The complete message list, as `onFinish({ messages })` gives it. */
  messages: M[];
  /** Session fields used when the chat does not exist yet. */
  create?: ChatCreateOptions;
}

/** What {@link saveChat} wrote. */
export interface SaveChatResult {
  /** Messages appended by this call. */
  appended: number;
  /** Previously saved messages hidden because the list no longer contains them as they were. */
  replaced: number;
  /** Session version after the save. */
  version: number;
}

/**
 * Makes the stored chat equal to `messages`. Creates the chat when it does not exist (so a
 * client-generated chat id works). Saving the same list twice writes nothing.
 */
export async function saveChat<M extends UIMessage = UIMessage>(
  store: SessionStore,
  tenant: string,
  input: SaveChatInput<M>,
): Promise<SaveChatResult> {
  if (input === null || typeof input !== "object" || !Array.isArray(input.messages)) {
    throw new InvalidArgumentError("saveChat needs { chatId, messages: UIMessage[] }.", {
      param: "messages",
    });
  }
  const id = sessionIdOf(input.chatId);
  const contents = input.messages.map((message, i) => toContent(message, `messages[${i}]`));
  for (let attempt = 1; ; attempt++) {
    const session = await getOrCreate(store, tenant, id, input.create ?? {});
    const stored = await readVisibleTail(store, tenant, id, session.lastSeq);
    let same = 0;
    while (
      same < stored.length &&
      same < contents.length &&
      jsonEqual(stored[same]?.content, contents[same])
    ) {
      same++;
    }
    const replaced = stored.length - same;
    const tail = contents.slice(same);
    if (replaced === 0 && tail.length === 0) return { appended: 0, replaced: 0, version: session.version };
    const items = replaced > 0 ? [dropMarker(replaced), ...tail] : tail;
    try {
      const result = await store.append(tenant, id, toItemInputs(items), {
        expectedVersion: session.version,
      });
      return { appended: tail.length, replaced, version: result.version };
    } catch (error) {
      if (!isHoldfastError(error) || error.code !== "conflict" || attempt >= SAVE_ATTEMPTS) throw error;
    }
  }
}

/** The Holdfast session id of a chat id (see `sessionIdFor`). */
export function sessionIdOf(chatId: string): string {
  return sessionIdFor(chatId, "chatId");
}

async function getOrCreate(
  store: SessionStore,
  tenant: string,
  id: string,
  create: ChatCreateOptions,
): Promise<Session> {
  return openOrCreateSession(store, tenant, id, { ...create, labels: [...(create.labels ?? []), "ai-sdk"] });
}

function toContent(message: UIMessage, param: string): JsonObject {
  const ui = toJsonObject(message, param);
  if (typeof ui.id !== "string" || !["system", "user", "assistant"].includes(String(ui.role))) {
    throw new InvalidArgumentError(`${param} must be a UIMessage with an id and a role.`, { param });
  }
  if (!Array.isArray(ui.parts)) throw new InvalidArgumentError(`${param}.parts must be an array.`, { param });
  const text = ui.parts
    .filter(
      (part) => part !== null && typeof part === "object" && !Array.isArray(part) && part.type === "text",
    )
    .map((part) => String((part as JsonObject).text ?? ""))
    .join("");
  return {
    type: "message",
    role: ui.role as string,
    content: [{ type: ui.role === "assistant" ? "output_text" : "input_text", text }],
    [UI_MESSAGE_FIELD]: ui,
  };
}

function fromItem<M extends UIMessage>(item: Item): M {
  const ui = item.content[UI_MESSAGE_FIELD];
  if (ui === undefined || ui === null || typeof ui !== "object") {
    // Written by something else (the gateway, an import): present its text as a UIMessage.
    const content = item.content.content;
    const text = Array.isArray(content)
      ? content.map((part) => String((part as JsonObject | null)?.text ?? "")).join("")
      : typeof content === "string"
        ? content
        : "";
    const role = item.role === "assistant" || item.role === "system" ? item.role : "user";
    return { id: item.id, role, parts: [{ type: "text", text }] } as unknown as M;
  }
  return structuredClone(ui) as unknown as M;
}
