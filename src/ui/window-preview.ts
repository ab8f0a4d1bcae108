/**
 * "The window the next turn would send", as the turn engine builds it (src/engine/turn/history.ts):
 * the store window read with headroom, pinned head items added, response records left out, then
 * the context engine fits it to the model — the latest summary stands in for what it covers, old
 * tool outputs are pruned, call/output pairs stay whole. Models the catalog does not know fall
 * back to the store's plain token window.
 */
import { getDefaultCatalog, type ModelCatalog } from "../engine/context/catalog.ts";
import { isContextOverflowError } from "../engine/context/errors.ts";
import { isPinned } from "../engine/context/items.ts";
import { buildWindow } from "../engine/context/window.ts";
import { NOT_SENT_ITEM_TYPES } from "../engine/turn/record.ts";
import type { Item, SessionStore } from "../store/types.ts";

const HEADROOM = 2;
const HEAD_ITEMS = 16;
/** Budget of the plain store window when no known model is given. */
export const FALLBACK_WINDOW_TOKENS = 8000;

export interface WindowPreview {
  /** `engine`: fitted by the context engine for `model`; `store`: the store's plain token window. */
  source: "engine" | "store";
  model: string | null;
  /** Input tokens the window may use. */
  budget: number;
  tokens: number;
  /** Seqs of the stored items sent (a summary stands where its range was). */
  seqs: number[];
  /** Stored items not sent (covered by a summary, too old, invalid). */
  droppedCount: number;
  summaryUsed: boolean;
  /** Tool outputs trimmed or cleared by pruning. */
  pruned: { seq: number; action: string; tokensSaved: number }[];
  /** Why the preview fell back or failed (unknown model, overflow). */
  note: string | null;
}

export interface WindowPreviewOptions {
  /** Catalog id or alias; unknown or absent: the store window. */
  model: string | null;
  /** An extra cap on input tokens (the budget field of the view). */
  maxInputTokens?: number;
  catalog?: ModelCatalog;
}

async function loadItems(store: SessionStore, tenant: string, id: string, budget: number): Promise<Item[]> {
  const window = await store.readWindow(tenant, id, { maxTokens: budget * HEADROOM });
  let items = window.items;
  if (window.fromSeq > 1) {
    const head = await store.readItems(tenant, id, { limit: HEAD_ITEMS });
    items = [...head.filter((i) => isPinned(i) && i.seq < window.fromSeq), ...items];
  }
  return items.filter((i) => !NOT_SENT_ITEM_TYPES.has(i.type));
}

async function storeWindow(
  store: SessionStore,
  tenant: string,
  id: string,
  budget: number,
  model: string | null,
  note: string | null,
): Promise<WindowPreview> {
  const window = await store.readWindow(tenant, id, { maxTokens: budget });
  const sent = window.items.filter((i) => !NOT_SENT_ITEM_TYPES.has(i.type));
  return {
    source: "store",
    model,
    budget,
    tokens: window.tokens,
    seqs: sent.map((i) => i.seq),
    droppedCount: window.fromSeq > 1 ? window.fromSeq - 1 : 0,
    summaryUsed: false,
    pruned: [],
    note,
  };
}

/** Builds the preview; never throws for an unknown model or an overflow (it says so in `note`). */
export async function previewWindow(
  store: SessionStore,
  tenant: string,
  id: string,
  options: WindowPreviewOptions,
): Promise<WindowPreview> {
  const catalog = options.catalog ?? getDefaultCatalog();
  const info = options.model ? catalog.find(options.model) : null;
  if (!info) {
    const budget = options.maxInputTokens ?? FALLBACK_WINDOW_TOKENS;
    const note = options.model
      ? `Model '${options.model}' is not in the catalog: showing the store's plain ${budget}-token window.`
      : `No model yet: showing the store's plain ${budget}-token window.`;
    return storeWindow(store, tenant, id, budget, options.model, note);
  }
  let budget = info.contextWindow - info.maxOutputTokens;
  if (info.maxInputTokens !== null) budget = Math.min(budget, info.maxInputTokens);
  if (options.maxInputTokens !== undefined) budget = Math.min(budget, options.maxInputTokens);
  const items = await loadItems(store, tenant, id, budget);
  try {
    const window = buildWindow(items, {
      model: info,
      ...(options.maxInputTokens !== undefined ? { maxInputTokens: options.maxInputTokens } : {}),
    });
    return {
      source: "engine",
      model: info.id,
      budget: window.budget,
      tokens: window.tokens,
      seqs: window.items.map((i) => i.seq),
      droppedCount: window.droppedCount,
      summaryUsed: window.summaryUsed,
      pruned: window.pruning.map((p) => ({ seq: p.seq, action: p.action, tokensSaved: p.tokensSaved })),
      note: null,
    };
  } catch (error) {
    if (!isContextOverflowError(error)) throw error;
    return storeWindow(store, tenant, id, budget, info.id, (error as Error).message);
  }
}
