/**
 * Sending the outbox: entries go in queue order, each with its own idempotency key and
 * `If-Match` on the version the cache last saw. A 409 means the conversation moved (another
 * device wrote): the head is re-read and the entry is re-sent on it (a rebase) unless the app's
 * `onConflict` hook says otherwise. A thrown fetch stops the run (offline); the key makes the
 * retry safe even when the lost attempt did reach the server.
 */
import type { HoldfastClient } from "./client.ts";
import type { CachedConversation, ConversationCache } from "./conversation-cache.ts";
import { HoldfastApiError, HoldfastClientError, isConflictError, isNetworkError } from "./errors.ts";
import type { Outbox, QueuedAppend } from "./outbox.ts";
import type { ConversationItem } from "./types.ts";

/** What `onConflict` sees. */
export interface ConflictContext {
  conversationId: string;
  /** The queued append that hit the conflict. */
  entry: QueuedAppend;
  /** The version the entry was sent against. */
  expectedVersion: number | null;
  /** The conversation's version now. */
  serverVersion: number;
  /** Items that reached the server since the cached view (written elsewhere). */
  remoteItems: ConversationItem[];
}

/**
 * `"rebase"`: send the same items on the new head (default). `"drop"`: remove the entry (the
 * app decided it is obsolete). `{ items }`: send these items instead (an app-level merge).
 */
export type ConflictResolution = "rebase" | "drop" | { items: ConversationItem[] };
export type ConflictHandler = (context: ConflictContext) => ConflictResolution | Promise<ConflictResolution>;

export interface FlushResult {
  sent: number;
  rebased: number;
  dropped: number;
  /** Why the run stopped before the queue was empty, or `null` when everything sendable was sent. */
  stoppedBy: "network" | "server" | "auth" | null;
  /** Set when the server stopped the run with `Retry-After`: nothing is sent before it passed (ms). */
  retryAfterMs?: number;
  /**
   * Conversations whose appends were delivered but whose cached view could not be re-read after
   * (offline again, or a 4xx on the read): the view lags until the next `open(id)` or send.
   */
  staleCache: string[];
}

export interface FlushContext {
  client: HoldfastClient;
  outbox: Outbox;
  cache: ConversationCache;
  onConflict: ConflictHandler;
  onProgress?: () => void;
}

/** Rebases per entry per run: past this the conversation is too busy; the run stops and retries later. */
const MAX_REBASES_PER_RUN = 8;

type AppendResult = Awaited<ReturnType<HoldfastClient["items"]["create"]>>;

/** Brings the cached conversation up to the server's head; returns the items that were new. */
async function catchUp(
  ctx: FlushContext,
  id: string,
): Promise<{ version: number; fresh: ConversationItem[] }> {
  const conversation = await ctx.client.conversations.get(id);
  const cached = await ctx.cache.get(id);
  const lastId = cached?.items.at(-1)?.id;
  let fresh: ConversationItem[];
  let items: ConversationItem[];
  if (cached && typeof lastId === "string") {
    fresh = [];
    let after: string | undefined = lastId;
    for (;;) {
      const page = await ctx.client.items.list(id, { after, order: "asc", limit: 100 });
      fresh.push(...page.data);
      if (!page.has_more || page.last_id === null) break;
      after = page.last_id;
    }
    items = [...cached.items, ...fresh];
  } else {
    items = await ctx.client.items.listAll(id);
    fresh = items.filter((item) => !cached?.items.some((known) => known.id === item.id));
  }
  await ctx.cache.put({ conversation, items, version: conversation.version });
  return { version: conversation.version, fresh };
}

/** Sends everything sendable, in order; never drops an entry unless `onConflict` says so. */
export async function flushOutbox(ctx: FlushContext): Promise<FlushResult> {
  const result: FlushResult = { sent: 0, rebased: 0, dropped: 0, stoppedBy: null, staleCache: [] };
  // Conversations whose earlier entry was refused: later entries wait, to keep their order.
  const blocked = new Set<string>();
  const rebasesThisRun = new Map<string, number>();
  for (;;) {
    const entries = await ctx.outbox.list();
    for (const entry of entries) if (entry.error) blocked.add(entry.conversationId);
    const entry = entries.find((candidate) => !candidate.error && !blocked.has(candidate.conversationId));
    if (!entry) return result;
    const id = entry.conversationId;
    let delivered: AppendResult;
    let cached: CachedConversation | undefined;
    try {
      cached = await ctx.cache.get(id);
      const expected = cached?.version ?? null;
      delivered = await ctx.client.items.create(id, entry.items, {
        idempotencyKey: entry.key,
        ...(expected === null ? {} : { ifMatch: expected }),
      });
    } catch (error) {
      if (isNetworkError(error)) {
        result.stoppedBy = "network";
        return result;
      }
      if (!(error instanceof HoldfastApiError)) {
        // No refresh token, or the refresh was refused: the app must sign in again.
        if (error instanceof HoldfastClientError) {
          result.stoppedBy = "auth";
          return result;
        }
        throw error;
      }
      // The version check only: a 409 for an item id that already exists is refused for good
      // below, or every run would re-read, rebase and be refused again, blocking the queue.
      if (isConflictError(error as unknown)) {
        const count = (rebasesThisRun.get(entry.key) ?? 0) + 1;
        rebasesThisRun.set(entry.key, count);
        if (count > MAX_REBASES_PER_RUN) {
          result.stoppedBy = "server";
          return result;
        }
        const before = (await ctx.cache.get(id))?.version ?? null;
        let head: { version: number; fresh: ConversationItem[] };
        try {
          head = await catchUp(ctx, id);
        } catch (readError) {
          if (isNetworkError(readError)) {
            result.stoppedBy = "network";
            return result;
          }
          throw readError;
        }
        const decision = await ctx.onConflict({
          conversationId: id,
          entry,
          expectedVersion: before,
          serverVersion: head.version,
          remoteItems: head.fresh,
        });
        if (decision === "drop") {
          await ctx.outbox.remove(entry.key);
          result.dropped++;
        } else if (decision === "rebase") {
          await ctx.outbox.update(entry.key, (next) => ({ ...next, rebases: next.rebases + 1 }));
          result.rebased++;
        } else {
          // A 409 on the version check means this key was never applied (keys are checked
          // first), so new items may take a new key without risking a double write.
          await ctx.outbox.update(entry.key, (next) => ({
            ...next,
            key: `${entry.key.replace(/~\d+$/, "")}~${next.rebases + 1}`,
            items: structuredClone(decision.items),
            rebases: next.rebases + 1,
          }));
          result.rebased++;
        }
        ctx.onProgress?.();
        continue;
      }
      if (error.status === 401 || error.status === 403) {
        result.stoppedBy = "auth";
        return result;
      }
      if (
        error.status >= 500 ||
        error.status === 429 ||
        error.status === 408 ||
        error.code === "conversation_busy"
      ) {
        // Busy or failing server: keep the entry, retry later (not before it asked).
        result.stoppedBy = "server";
        if (error.retryAfterMs !== null) result.retryAfterMs = error.retryAfterMs;
        return result;
      }
      // Refused for good (deleted conversation, invalid item): park it, never silently drop it.
      await ctx.outbox.update(entry.key, (next) => ({
        ...next,
        error: { status: error.status, code: error.code, message: error.message },
      }));
      ctx.onProgress?.();
      continue;
    }
    // Delivered: it leaves the queue whatever happens next. Re-reading the conversation may
    // still fail (offline again, a 404 or 403 on the read): that leaves the cached view stale,
    // not the entry undelivered — parking it would show a sent message as failed, and a resend
    // would write it twice.
    await ctx.outbox.remove(entry.key);
    result.sent++;
    ctx.onProgress?.();
    try {
      await refreshAfterSend(ctx, id, cached, delivered);
    } catch (error) {
      // Unknown failures (a storage fault) are not the server's answer: they still surface.
      if (
        !isNetworkError(error) &&
        !(error instanceof HoldfastApiError) &&
        !(error instanceof HoldfastClientError)
      ) {
        throw error;
      }
      // The next send on it goes with the old version: a 409, a re-read, a rebase. Never a duplicate.
      if (!result.staleCache.includes(id)) result.staleCache.push(id);
    }
  }
}

/** Brings the cache up to what the send wrote: the returned items, or a re-read when they are unknown. */
async function refreshAfterSend(
  ctx: FlushContext,
  id: string,
  cached: CachedConversation | undefined,
  sent: AppendResult,
): Promise<void> {
  if (sent.replayed || !cached || sent.version === null) {
    // An earlier attempt landed but its answer was lost: the cache cannot know what came between.
    await catchUp(ctx, id);
    return;
  }
  await ctx.cache.put({
    conversation: { ...cached.conversation, version: sent.version },
    items: [...cached.items, ...sent.data],
    version: sent.version,
  });
}
