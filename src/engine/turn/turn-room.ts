/**
 * Making room in a conversation for a turn's input that a session quota refused (withQuotas'
 * compaction hook, wired by `holdfast serve`). The quota check runs inside the store's append,
 * far from the turn; the turn engine opens a scope around its input append so the hook finds the
 * turn: its model summarizes, and the summarizer calls go on its tally (its response record, so
 * the usage ledger, spend caps and metrics), like automatic compaction's.
 *
 * Compaction itself is non-destructive (the summary is appended, the originals stay): that frees
 * nothing. Under a quota the items the latest summary covers are then deleted, except response
 * records (the usage ledger, `previous_response_id` and `GET /v1/responses/{id}` read them),
 * pinned items and calls still awaiting their output.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Item, SessionStore } from "../../store/types.ts";
import { isCall, isPinned } from "../context/items.ts";
import { isSummaryItem, readCovers } from "../context/summary.ts";
import { buildWindowIndex, ROLE_EXCLUDED, ROLE_REGULAR } from "../context/window-index.ts";
import type { CompactionTally } from "./compaction-spend.ts";
import type { TurnPlan } from "./plan.ts";
import { RECORD_TYPE } from "./record.ts";

/** The turn whose input append is being written. */
export interface TurnInputScope {
  plan: TurnPlan;
  tally: CompactionTally;
}

const inputScope = new AsyncLocalStorage<TurnInputScope>();

/** Runs the turn's input append with the turn findable by `turnWritingInput`. */
export function writingInput<T>(scope: TurnInputScope, write: () => Promise<T>): Promise<T> {
  return inputScope.run(scope, write);
}

/** The turn writing its input to this session right now, in this call chain; null for any other append. */
export function turnWritingInput(tenant: string, sessionId: string): TurnInputScope | null {
  const scope = inputScope.getStore();
  return scope && scope.plan.tenant === tenant && scope.plan.sessionId === sessionId ? scope : null;
}

/** A turn (its input admitted) whose own compaction is writing to its conversation. */
const compactingScope = new AsyncLocalStorage<TurnPlan>();

/**
 * Runs a turn's automatic (or overflow-recovery) compaction with the turn findable by
 * `turnCompacting`: its summary append is part of a turn already admitted under the quotas.
 */
export function compactingInTurn<T>(plan: TurnPlan, write: () => Promise<T>): Promise<T> {
  return compactingScope.run(plan, write);
}

/** True while a turn on this session compacts it, in this call chain (never for any other append). */
export function turnCompacting(tenant: string, sessionId: string): boolean {
  const plan = compactingScope.getStore();
  return plan !== undefined && plan.tenant === tenant && plan.sessionId === sessionId;
}

/**
 * The most the recent part of the conversation kept verbatim may hold, per quota dimension
 * (null: no bound). The older part is summarized and freed.
 */
export interface RoomBounds {
  items: number | null;
  bytes: number | null;
  tokens: number | null;
}

const PAGE = 1000;

/**
 * The `keepRecentTokens` that keeps the longest newest run of items within `bounds` (and within
 * `maxTokens`, the window's own share). Tokens are counted as compaction counts its suffix:
 * pinned items and summaries are not (they are kept or replaced apart); item and byte bounds
 * count every item.
 */
export async function keepWithin(
  store: SessionStore,
  tenant: string,
  sessionId: string,
  bounds: RoomBounds,
  maxTokens: number,
): Promise<number> {
  let items = 0;
  let bytes = 0;
  let tokens = 0;
  for (let before: number | undefined; ; ) {
    const page = await store.readItems(tenant, sessionId, {
      order: "desc",
      limit: PAGE,
      ...(before === undefined ? {} : { beforeSeq: before }),
    });
    for (const item of page) {
      const counted = isPinned(item) || isSummaryItem(item) ? 0 : item.tokens;
      if (
        (bounds.items !== null && items + 1 > bounds.items) ||
        (bounds.bytes !== null && bytes + item.bytes > bounds.bytes) ||
        (bounds.tokens !== null && tokens + item.tokens > bounds.tokens) ||
        tokens + counted > maxTokens
      ) {
        return tokens;
      }
      items++;
      bytes += item.bytes;
      tokens += counted;
    }
    if (page.length < PAGE) return tokens;
    before = page.at(-1)!.seq;
  }
}

async function loadAll(store: SessionStore, tenant: string, sessionId: string): Promise<Item[]> {
  const items: Item[] = [];
  for (let after = 0; ; ) {
    const page = await store.readItems(tenant, sessionId, { afterSeq: after, limit: PAGE, order: "asc" });
    items.push(...page);
    if (page.length < PAGE) return items;
    after = page.at(-1)!.seq;
  }
}

/**
 * Deletes what the latest summary covers and stands in for: the items it summarized, orphan
 * outputs and superseded summaries. Answers how many items went (a call's output goes with it).
 */
export async function freeCovered(store: SessionStore, tenant: string, sessionId: string): Promise<number> {
  const items = await loadAll(store, tenant, sessionId);
  const index = buildWindowIndex(items);
  if (index.summary < 0) return 0;
  const covers = readCovers((items[index.summary] as Item).content);
  if (!covers) return 0;
  const before = items.length;
  let deleted: number | null = null;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Item;
    if (item.seq > covers.toSeq) break;
    const role = index.roles[i];
    const freeable =
      (role === ROLE_REGULAR && item.type !== RECORD_TYPE) || (role === ROLE_EXCLUDED && !isCall(item));
    if (!freeable) continue;
    try {
      deleted = (await store.deleteItem(tenant, sessionId, item.id)).itemCount;
    } catch (error) {
      // Gone already: with its call or output (they are deleted together), or by another writer.
      if ((error as { code?: string }).code !== "not_found") throw error;
    }
  }
  return deleted === null ? 0 : Math.max(0, before - deleted);
}
