/**
 * `createOfflineClient(options)`: keeps opened conversations usable without a network. Reads
 * come from the cache when the server cannot be reached; appends are queued durably with their
 * idempotency keys and sent in order when the network returns (see `flush.ts`); logging out
 * wipes both. Browser-safe: storage and network detection are injected or feature-detected.
 */
import type { HoldfastClient } from "./client.ts";
import { ConversationCache } from "./conversation-cache.ts";
import { HoldfastApiError, HoldfastClientError, isNetworkError } from "./errors.ts";
import { type ConflictHandler, type FlushResult, flushOutbox } from "./flush.ts";
import { Outbox, type QueuedAppend } from "./outbox.ts";
import type { OfflineStorage } from "./storage/types.ts";
import type { Conversation, ConversationItem } from "./types.ts";

export interface OfflineClientOptions {
  client: HoldfastClient;
  /** Where the cache and the queue live: `createIndexedDbStorage()` in browsers. */
  storage: OfflineStorage;
  /** Byte budget of the conversation cache (default 5 MiB); least recently used go first. */
  cacheBudgetBytes?: number;
  /** Decides what a queued append does when its conversation moved (default: always rebase). */
  onConflict?: ConflictHandler;
  /** First retry delay after a network failure (default 1000 ms, doubling up to 30 s). 0 disables. */
  retryDelayMs?: number;
  /** Where `online`/`offline` events come from (default `globalThis` when it has `addEventListener`). */
  events?: Pick<EventTarget, "addEventListener" | "removeEventListener"> | null;
}

/** What the UI shows: the server's items, then the queued ones not yet acknowledged. */
export interface ConversationView {
  conversation: Conversation;
  items: ConversationItem[];
  pending: QueuedAppend[];
  version: number;
  /** True when the server could not be reached and this came from the cache. */
  fromCache: boolean;
}

export interface OfflineStatus {
  online: boolean;
  pending: number;
  /** Entries the server refused for good (they wait for `retry` or `discard`). */
  failed: number;
  /**
   * The server refused the credentials and no refresh could fix them (a refused refresh token: the
   * user must sign in again). Sending waits — no retries — until new tokens are set
   * (`client.auth.setTokens`), then resumes by itself.
   */
  authRequired: boolean;
}

export interface OfflineClient {
  /** Opens a conversation: from the server (refreshing the cache), or from the cache when offline. */
  open(conversationId: string): Promise<ConversationView>;
  /** Creates a conversation (needs the network) and caches it. */
  create(input?: Parameters<HoldfastClient["conversations"]["create"]>[0]): Promise<ConversationView>;
  /** The cached view without touching the network, or `undefined` when not cached. */
  view(conversationId: string): Promise<ConversationView | undefined>;
  /** Queues an append durably, then tries to send the queue. Resolves with the queued entry. */
  append(conversationId: string, items: ConversationItem[]): Promise<QueuedAppend>;
  /** Sends the queue now (single-flight: concurrent calls share one run). */
  flush(): Promise<FlushResult>;
  pending(conversationId?: string): Promise<QueuedAppend[]>;
  /** Puts a refused entry back in line. */
  retry(key: string): Promise<void>;
  /** Removes a queued entry the app gave up on. */
  discard(key: string): Promise<void>;
  /** Cached conversation ids, most recently used first. */
  cachedIds(): Promise<string[]>;
  status(): Promise<OfflineStatus>;
  /** Called after every change of status or data; returns the unsubscribe function. */
  subscribe(listener: (status: OfflineStatus) => void): () => void;
  /** Tells the client the network state (tests, apps with their own detection). */
  setOnline(online: boolean): void;
  /** Logs out on the server (best effort when offline) and wipes the cache and the queue. */
  logout(): Promise<void>;
  /** Stops timers and listeners. */
  close(): Promise<void>;
}

function newKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return `hf-${c.randomUUID()}`;
  const bytes = c.getRandomValues(new Uint8Array(16));
  return `hf-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Two passes of one flush as one result: counts add up, the later pass says why it stopped. */
function addRuns(earlier: FlushResult, later: FlushResult): FlushResult {
  return {
    ...later,
    sent: earlier.sent + later.sent,
    rebased: earlier.rebased + later.rebased,
    dropped: earlier.dropped + later.dropped,
    staleCache: [...new Set([...earlier.staleCache, ...later.staleCache])],
  };
}

/** Creates the offline layer over a client and a storage. */
export function createOfflineClient(options: OfflineClientOptions): OfflineClient {
  const { client, storage } = options;
  if (!client?.conversations || !storage?.get) {
    throw new Error("createOfflineClient needs options.client (createHoldfastClient) and options.storage.");
  }
  const retryDelay = options.retryDelayMs ?? 1000;
  const outbox = new Outbox(storage);
  const cache = new ConversationCache({
    storage,
    ...(options.cacheBudgetBytes === undefined ? {} : { budgetBytes: options.cacheBudgetBytes }),
    isPinned: (id) => outbox.has(id),
  });
  const onConflict: ConflictHandler = options.onConflict ?? (() => "rebase");
  const listeners = new Set<(status: OfflineStatus) => void>();
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  let online = nav?.onLine ?? true;
  let running: Promise<FlushResult> | null = null;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let backoff = retryDelay;
  let closed = false;
  /** Sending waits for new tokens (see OfflineStatus.authRequired). */
  let authRequired = false;
  /** Tokens the app set since the current run started (a run failing on the old ones retries them). */
  let tokensSet = false;
  let retryNow = false;
  /** Epoch ms before which the server asked not to be sent anything (`Retry-After`). */
  let notBefore = 0;

  const events =
    options.events === undefined
      ? typeof (globalThis as { addEventListener?: unknown }).addEventListener === "function"
        ? (globalThis as unknown as EventTarget)
        : null
      : options.events;
  const onOnline = (): void => api.setOnline(true);
  const onOffline = (): void => api.setOnline(false);
  events?.addEventListener("online", onOnline);
  events?.addEventListener("offline", onOffline);
  const stopTokens = client.auth?.tokens?.onSet?.((tokens) => {
    if (tokens === null) return;
    tokensSet = true;
    if (!authRequired) return;
    authRequired = false;
    backoff = retryDelay;
    notify();
    void api.flush();
  });

  async function status(): Promise<OfflineStatus> {
    const entries = await outbox.list();
    const failed = entries.filter((entry) => entry.error !== undefined).length;
    return { online, pending: entries.length - failed, failed, authRequired };
  }

  function notify(): void {
    if (listeners.size === 0) return;
    void status().then((snapshot) => {
      for (const listener of listeners) listener(snapshot);
    });
  }

  /**
   * A flush the app did not ask for (a new entry, the network back): not while waiting for
   * tokens, nor before the server's `Retry-After` passed (the retry timer sends then).
   */
  function autoFlush(): void {
    if (!authRequired && Date.now() >= notBefore) void api.flush();
  }

  /** Retries after the backoff, and never before `waitAtLeastMs` (the server's `Retry-After`). */
  function scheduleRetry(waitAtLeastMs = 0): void {
    if (closed) return;
    if (waitAtLeastMs > 0) notBefore = Date.now() + waitAtLeastMs;
    if (retryDelay <= 0 || timer !== null) return;
    timer = setTimeout(
      () => {
        timer = null;
        void api.flush();
      },
      Math.max(backoff, waitAtLeastMs),
    );
    backoff = Math.min(backoff * 2, 30_000);
  }

  async function viewOf(id: string, fromCache: boolean): Promise<ConversationView | undefined> {
    const record = await cache.get(id);
    if (!record) return undefined;
    const pending = (await outbox.list()).filter((entry) => entry.conversationId === id);
    return { ...record, pending, fromCache };
  }

  /** Reads head then items (that order: a version older than the items only costs a spurious 409). */
  async function load(id: string): Promise<void> {
    const conversation = await client.conversations.get(id);
    const items = await client.items.listAll(id);
    await cache.put({ conversation, items, version: conversation.version });
  }

  async function runFlush(): Promise<FlushResult> {
    await outbox.ready();
    tokensSet = false;
    const result = await flushOutbox({ client, outbox, cache, onConflict, onProgress: notify });
    if (result.stoppedBy === "network") {
      online = false;
      scheduleRetry();
    } else if (result.stoppedBy === null) {
      online = true;
      authRequired = false;
      backoff = retryDelay;
      notBefore = 0;
    } else if (result.stoppedBy === "auth") {
      // Retrying cannot help until the app sets new tokens (its onSet listener resumes sending),
      // unless it set them while this run was failing with the old ones.
      if (tokensSet) retryNow = true;
      else authRequired = true;
    } else {
      scheduleRetry(result.retryAfterMs ?? 0);
    }
    notify();
    return result;
  }

  const api: OfflineClient = {
    async open(id) {
      await outbox.ready();
      try {
        await load(id);
        online = true;
        autoFlush();
        return (await viewOf(id, false)) as ConversationView;
      } catch (error) {
        if (error instanceof HoldfastApiError && error.status === 404) {
          // Deleted on the server (or by another device): the cached copy must not live on as if
          // it still existed. Queued appends to it stay, and are parked with the 404 when sent.
          await cache.remove(id);
          notify();
        }
        if (!isNetworkError(error)) throw error;
        online = false;
        notify();
        const cached = await viewOf(id, true);
        if (!cached) throw error;
        return cached;
      }
    },

    async create(input = {}) {
      const conversation = await client.conversations.create(input);
      const items = conversation.item_count ? await client.items.listAll(conversation.id) : [];
      await cache.put({ conversation, items, version: conversation.version });
      return (await viewOf(conversation.id, false)) as ConversationView;
    },

    view: (id) => viewOf(id, true),

    async append(conversationId, items) {
      if (!Array.isArray(items) || items.length === 0) throw new Error("append needs at least one item.");
      const entry: QueuedAppend = {
        key: newKey(),
        conversationId,
        items: structuredClone(items),
        queuedAt: Date.now(),
        rebases: 0,
      };
      await outbox.enqueue(entry);
      notify();
      if (online) autoFlush();
      return entry;
    },

    flush() {
      if (running) {
        // A flush already in progress may have passed the new entry's position: run once more.
        again = true;
        return running;
      }
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
      const once = (): Promise<FlushResult> =>
        locks ? (locks.request("holdfast-outbox", runFlush) as unknown as Promise<FlushResult>) : runFlush();
      running = (async () => {
        let result: FlushResult;
        let total: FlushResult | null = null;
        do {
          again = false;
          retryNow = false;
          result = await once();
          // The caller sees everything this flush did, not only its last pass.
          total = total === null ? result : addRuns(total, result);
        } while (((again && result.stoppedBy === null) || retryNow) && !closed);
        return total;
      })().finally(() => {
        running = null;
      });
      return running;
    },

    async pending(conversationId) {
      const entries = await outbox.list();
      return conversationId === undefined
        ? entries
        : entries.filter((entry) => entry.conversationId === conversationId);
    },

    async retry(key) {
      await outbox.update(key, (entry) => {
        const { error: _error, ...rest } = entry;
        return rest;
      });
      notify();
      void api.flush();
    },

    async discard(key) {
      await outbox.remove(key);
      notify();
    },

    cachedIds: () => cache.ids(),
    status,

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    setOnline(value) {
      online = value;
      notify();
      if (value) {
        backoff = retryDelay;
        autoFlush();
      }
    },

    async logout() {
      try {
        await client.auth.logout();
      } catch (error) {
        // Offline or already signed out: the local wipe below still happens.
        if (!(error instanceof HoldfastClientError)) throw error;
      } finally {
        await running?.catch(() => {});
        await storage.clear();
        outbox.reset();
        cache.reset();
        authRequired = false;
        notify();
      }
    },

    async close() {
      closed = true;
      stopTokens?.();
      if (timer !== null) clearTimeout(timer);
      timer = null;
      events?.removeEventListener("online", onOnline);
      events?.removeEventListener("offline", onOffline);
      await running?.catch(() => {});
      listeners.clear();
    },
  };
  return Object.freeze(api);
}
