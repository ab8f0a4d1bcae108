/**
 * `holdfast/adapters/langchain`: a LangChain.js `BaseListChatMessageHistory` backed by a Holdfast
 * store (for `RunnableWithMessageHistory` and friends). Loads `@langchain/core` at runtime; the
 * main `holdfast` entry never does.
 *
 * Each message is one item. Human, AI and system messages are stored as Responses `message`
 * items (role user / assistant / system, with their text) so the gateway and the dashboard read
 * them; other kinds (tool, function, generic chat) as `langchain_message` items. Every item also
 * keeps LangChain's own serialisation (`mapChatMessagesToStoredMessages`) under `langchain`,
 * which is what `getMessages` rebuilds from, so tool calls, ids and metadata survive.
 */
import { BaseListChatMessageHistory } from "@langchain/core/chat_history";
import {
  type BaseMessage,
  mapChatMessagesToStoredMessages,
  mapStoredMessagesToChatMessages,
  type StoredMessage,
} from "@langchain/core/messages";
import { InvalidArgumentError } from "../../store/errors.ts";
import type { CreateSessionInput, JsonObject, Session, SessionStore } from "../../store/types.ts";
import { clearMarker, readVisibleTail, toItemInputs } from "./edit-log.ts";
import { toJsonObject } from "./json.ts";
import { findSession, openOrCreateSession } from "./open-session.ts";
import { sessionIdFor } from "./session-ids.ts";

/** Field of the stored item holding LangChain's `StoredMessage`. */
export const LANGCHAIN_FIELD = "langchain";
const ROLES: Record<string, string> = { human: "user", ai: "assistant", system: "system" };

/** Options of {@link HoldfastChatMessageHistory}. */
export interface HoldfastChatMessageHistoryOptions {
  store: SessionStore;
  tenant: string;
  /** Holdfast session id, or any id of yours (mapped by `sessionIdFor`); a new session when absent. */
  sessionId?: string;
  /** Session fields used when the history creates its session. */
  create?: Omit<CreateSessionInput, "id" | "items">;
}

/** Chat history of one Holdfast session. `clear()` hides messages; they stay in the store. */
export class HoldfastChatMessageHistory extends BaseListChatMessageHistory {
  lc_namespace = ["langchain", "stores", "message", "holdfast"];
  readonly #store: SessionStore;
  readonly #tenant: string;
  readonly #create: Omit<CreateSessionInput, "id" | "items">;
  #sessionId: string | undefined;
  #ensured: Promise<Session> | undefined;

  constructor(options: HoldfastChatMessageHistoryOptions) {
    super();
    if (options?.store === undefined || typeof options.store.append !== "function") {
      throw new InvalidArgumentError("options.store must be a Holdfast SessionStore.", { param: "store" });
    }
    if (typeof options.tenant !== "string" || options.tenant.length === 0) {
      throw new InvalidArgumentError("options.tenant must be a non-empty string.", { param: "tenant" });
    }
    this.#store = options.store;
    this.#tenant = options.tenant;
    this.#create = Object.freeze({ ...(options.create ?? {}) });
    this.#sessionId = options.sessionId === undefined ? undefined : sessionIdFor(options.sessionId);
  }

  /** The Holdfast session id, creating the session on first use. */
  async getSessionId(): Promise<string> {
    return (await this.#ensure()).id;
  }

  override async getMessages(): Promise<BaseMessage[]> {
    const { id } = await this.#ensure();
    const head = await this.#store.get(this.#tenant, id);
    const items = await readVisibleTail(this.#store, this.#tenant, id, head.lastSeq);
    const stored = items.map((item) => item.content[LANGCHAIN_FIELD] as unknown as StoredMessage);
    return mapStoredMessagesToChatMessages(stored.filter((m) => m !== undefined && m !== null));
  }

  override async addMessage(message: BaseMessage): Promise<void> {
    await this.addMessages([message]);
  }

  /** Appends all messages in one atomic store append. */
  override async addMessages(messages: BaseMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const contents = mapChatMessagesToStoredMessages(messages).map((stored, i) =>
      toContent(stored, `messages[${i}]`),
    );
    const { id } = await this.#ensure();
    await this.#store.append(this.#tenant, id, toItemInputs(contents));
  }

  /**
   * Hides every message so far (a clear marker); the session and its id stay. A session that
   * does not exist yet is not created: there is nothing to clear.
   */
  override async clear(): Promise<void> {
    const head = await this.#existing();
    if (head === undefined || head.itemCount === 0) return;
    await this.#store.append(this.#tenant, head.id, toItemInputs([clearMarker()]));
  }

  async #existing(): Promise<Session | undefined> {
    if (this.#ensured !== undefined) return await this.#store.get(this.#tenant, (await this.#ensured).id);
    if (this.#sessionId === undefined) return undefined;
    return await findSession(this.#store, this.#tenant, this.#sessionId);
  }

  #ensure(): Promise<Session> {
    this.#ensured ??= this.#open().catch((error: unknown) => {
      this.#ensured = undefined;
      throw error;
    });
    return this.#ensured;
  }

  async #open(): Promise<Session> {
    const labels = [...(this.#create.labels ?? []), "langchain"];
    const session = await openOrCreateSession(this.#store, this.#tenant, this.#sessionId, {
      ...this.#create,
      labels,
    });
    this.#sessionId = session.id;
    return session;
  }
}

function toContent(stored: StoredMessage, param: string): JsonObject {
  const json = toJsonObject(stored, param);
  const role = ROLES[stored.type];
  if (role === undefined) return { type: "langchain_message", [LANGCHAIN_FIELD]: json };
  return {
    type: "message",
    role,
    content: [
      { type: role === "assistant" ? "output_text" : "input_text", text: textOf(stored.data.content) },
    ],
    [LANGCHAIN_FIELD]: json,
  };
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((block) =>
      block && typeof block === "object" && block.type === "text" ? String(block.text ?? "") : "",
    )
    .join("");
}
