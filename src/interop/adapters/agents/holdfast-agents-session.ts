/**
 * An OpenAI Agents SDK `Session` backed by any Holdfast store, with the SDK's optional
 * history-transaction capability. Only types come from `@openai/agents`.
 */
import type {
  AgentInputItem,
  SessionHistoryTransactionArgs,
  SessionHistoryTransactionAwareSession,
} from "@openai/agents";
import { ConflictError, InvalidArgumentError, isHoldfastError } from "../../../store/errors.ts";
import { sha256 } from "../../../store/ids.ts";
import type { CreateSessionInput, Item, JsonObject, Session, SessionStore } from "../../../store/types.ts";
import { clearMarker, dropMarker, readVisibleTail, toItemInputs } from "../edit-log.ts";
import { canonicalJson, jsonEqual } from "../json.ts";
import { findSession, openOrCreateSession } from "../open-session.ts";
import { sessionIdFor } from "../session-ids.ts";
import { fromStoredItem, toStoredContent } from "./item-codec.ts";

/** Options of {@link HoldfastAgentsSession}. */
export interface HoldfastAgentsSessionOptions {
  /** Any Holdfast store (`createStore("sqlite:./data.db")`, …). */
  store: SessionStore;
  /** Tenant the session belongs to. */
  tenant: string;
  /**
   * Holdfast session id (`conv_…`, used as is) or any id of yours, e.g. the SDK's UUIDs (mapped
   * by `sessionIdFor`, like the LangChain and AI SDK adapters); a new session when absent.
   */
  sessionId?: string;
  /** Fields for the session when the adapter creates it (owner, labels, TTLs, metadata…). */
  create?: Omit<CreateSessionInput, "id" | "items">;
  /** Items read per store call when walking the history backwards. Default 200. */
  pageSize?: number;
  /** Attempts of a read-check-write (pop, suffix replacement) racing other writers. Default 20. */
  maxAttempts?: number;
}

const OPERATION_PREFIX = "agents-tx:";
// Versions start at 1, so 0 is always stale: a probe with it can only replay, never write.
const STALE_VERSION = 0;

/**
 * `Session` for `run(agent, input, { session })`. History lives in one Holdfast session;
 * pops, clears and suffix replacements append edit markers instead of deleting (see
 * edit-log.ts), so every write is one atomic append and nothing is lost.
 */
export class HoldfastAgentsSession implements SessionHistoryTransactionAwareSession {
  readonly #store: SessionStore;
  readonly #tenant: string;
  readonly #create: Omit<CreateSessionInput, "id" | "items">;
  readonly #pageSize: number;
  readonly #maxAttempts: number;
  #sessionId: string | undefined;
  #ensured: Promise<Session> | undefined;

  constructor(options: HoldfastAgentsSessionOptions) {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError("HoldfastAgentsSession needs options { store, tenant }.");
    }
    if (options.store === undefined || typeof options.store.append !== "function") {
      throw new InvalidArgumentError("options.store must be a Holdfast SessionStore.", { param: "store" });
    }
    if (typeof options.tenant !== "string" || options.tenant.length === 0) {
      throw new InvalidArgumentError("options.tenant must be a non-empty string.", { param: "tenant" });
    }
    this.#pageSize = positiveInt(options.pageSize ?? 200, "pageSize");
    this.#maxAttempts = positiveInt(options.maxAttempts ?? 20, "maxAttempts");
    this.#store = options.store;
    this.#tenant = options.tenant;
    this.#sessionId = options.sessionId === undefined ? undefined : sessionIdFor(options.sessionId);
    this.#create = Object.freeze({ ...(options.create ?? {}) });
  }

  /** The Holdfast session id (`conv_…`), creating the session on first use. */
  async getSessionId(): Promise<string> {
    return (await this.#ensure()).id;
  }

  /**
   * The most recent `limit` visible items, oldest first. Like the SDK's `MemorySession`: all when
   * `limit` is undefined or NaN, none when it is ≤ 0, and a fractional limit is rounded up.
   */
  async getItems(limit?: number): Promise<AgentInputItem[]> {
    if (limit !== undefined && limit <= 0) return [];
    const head = await this.#head();
    const all = limit === undefined || Number.isNaN(limit);
    const tail = await this.#visibleTail(head, all ? Number.POSITIVE_INFINITY : Math.ceil(limit));
    return tail.map((item) => fromStoredItem(item) as unknown as AgentInputItem);
  }

  /** Appends items atomically (all or nothing). */
  async addItems(items: AgentInputItem[]): Promise<void> {
    if (items.length === 0) return;
    const contents = items.map((item, i) => toStoredContent(item, `items[${i}]`));
    const id = await this.getSessionId();
    await this.#store.append(this.#tenant, id, toItemInputs(contents));
  }

  /**
   * Removes and returns the newest visible item. The removal is an appended marker written with
   * expectedVersion, so the returned item is exactly the one hidden even under concurrent writers;
   * the item itself stays in the store (readable with `store.readItems`).
   */
  async popItem(): Promise<AgentInputItem | undefined> {
    for (let attempt = 1; ; attempt++) {
      const head = await this.#head();
      const [last] = await this.#visibleTail(head, 1);
      if (last === undefined) return undefined;
      try {
        await this.#store.append(this.#tenant, head.id, toItemInputs([dropMarker(1)]), {
          expectedVersion: head.version,
        });
        return fromStoredItem(last) as unknown as AgentInputItem;
      } catch (error) {
        if (!isVersionConflict(error) || attempt >= this.#maxAttempts) throw error;
      }
    }
  }

  /**
   * Hides every item so far (a clear marker); the Holdfast session and its id stay. A session that
   * does not exist yet is not created.
   */
  async clearSession(): Promise<void> {
    const head = await this.#existing();
    if (head === undefined || head.itemCount === 0) return;
    await this.#store.append(this.#tenant, head.id, toItemInputs([clearMarker()]));
  }

  /**
   * The SDK's atomic, idempotent history change. `append_items` and `replace_suffix` each become one
   * store append under an operation id derived from `operationId`: a retry replays, a different
   * transaction under the same id fails (`idempotency_conflict`), and a suffix that no longer matches
   * fails (`conflict`) without writing anything.
   */
  async applyHistoryTransaction(args: SessionHistoryTransactionArgs): Promise<void> {
    const { operationId, transaction } = checkTransactionArgs(args);
    const storeOperationId = OPERATION_PREFIX + sha256(operationId);
    const idPrefix = `hfa${sha256(operationId).slice(0, 22)}`;
    if (transaction.type === "append_items") {
      const contents = transaction.items.map((item, i) => toStoredContent(item, `transaction.items[${i}]`));
      const id = await this.getSessionId();
      await this.#store.append(this.#tenant, id, toItemInputs(contents, idPrefix), {
        operationId: storeOperationId,
      });
      return;
    }
    const expected = transaction.expectedSuffix.map((item, i) =>
      toStoredContent(item, `transaction.expectedSuffix[${i}]`),
    );
    const replacement = transaction.replacement.map((item, i) =>
      toStoredContent(item, `transaction.replacement[${i}]`),
    );
    // The marker carries a digest of the expectation so that reusing the operation id with a
    // different expected suffix is a different payload, hence an idempotency conflict.
    const marker: JsonObject = { ...dropMarker(expected.length), expect: sha256(canonicalJson(expected)) };
    const inputs = toItemInputs([marker, ...replacement], idPrefix);
    for (let attempt = 1; ; attempt++) {
      const head = await this.#head();
      const suffix = expected.length === 0 ? [] : await this.#visibleTail(head, expected.length);
      const matches =
        suffix.length === expected.length &&
        suffix.every((item, i) => jsonEqual(toStoredContent(fromStoredItem(item), "stored"), expected[i]));
      try {
        // On a mismatch the stale version makes this a pure replay probe: an earlier success under
        // the same operation id is returned, anything else is refused by the version check.
        await this.#store.append(this.#tenant, head.id, inputs, {
          operationId: storeOperationId,
          expectedVersion: matches ? head.version : STALE_VERSION,
        });
        return;
      } catch (error) {
        if (!isVersionConflict(error)) throw error;
        if (!matches) {
          throw new ConflictError(
            "Session history suffix no longer matches the transaction precondition; re-read the history.",
            { param: "expectedSuffix", cause: error },
          );
        }
        if (attempt >= this.#maxAttempts) throw error;
      }
    }
  }

  #ensure(): Promise<Session> {
    this.#ensured ??= this.#open().catch((error: unknown) => {
      this.#ensured = undefined;
      throw error;
    });
    return this.#ensured;
  }

  async #open(): Promise<Session> {
    const session = await openOrCreateSession(this.#store, this.#tenant, this.#sessionId, this.#create);
    this.#sessionId = session.id;
    return session;
  }

  async #existing(): Promise<Session | undefined> {
    if (this.#ensured !== undefined) return await this.#head();
    if (this.#sessionId === undefined) return undefined;
    return await findSession(this.#store, this.#tenant, this.#sessionId);
  }

  async #head(): Promise<Session> {
    const { id } = await this.#ensure();
    return await this.#store.get(this.#tenant, id);
  }

  #visibleTail(head: Session, limit: number): Promise<Item[]> {
    return readVisibleTail(this.#store, this.#tenant, head.id, head.lastSeq, limit, this.#pageSize);
  }
}

function isVersionConflict(error: unknown): boolean {
  return isHoldfastError(error) && error.code === "conflict";
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`options.${name} must be a positive integer.`, { param: name });
  }
  return value;
}

function checkTransactionArgs(args: SessionHistoryTransactionArgs): SessionHistoryTransactionArgs {
  if (args === null || typeof args !== "object") {
    throw new InvalidArgumentError("Session history transaction arguments are invalid.");
  }
  const { operationId, transaction } = args;
  if (typeof operationId !== "string" || operationId.trim() === "") {
    throw new InvalidArgumentError("operationId must be a non-empty string.", { param: "operationId" });
  }
  if (transaction?.type === "append_items" && Array.isArray(transaction.items)) return args;
  if (
    transaction?.type === "replace_suffix" &&
    Array.isArray(transaction.expectedSuffix) &&
    Array.isArray(transaction.replacement)
  ) {
    return args;
  }
  throw new InvalidArgumentError("transaction must be an append_items or replace_suffix transaction.", {
    param: "transaction",
  });
}
