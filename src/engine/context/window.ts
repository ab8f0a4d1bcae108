/**
 * `buildWindow`: the items to send to a model for a turn, fitted to its input budget. Pinned
 * items (system/developer messages and pin-marked messages) always; the latest summary in place
 * of everything it covers; then the newest whole units (a call with its outputs, a reasoning
 * item with what follows) that fit, pruning old tool outputs when that lets more history in.
 * Pure: inputs are never mutated; pruned items are copies.
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import type { Item } from "../../store/types.ts";
import { enforceAlternation, OMITTED_ITEM_ID, OMITTED_TOKENS } from "./alternation.ts";
import { type ModelCatalog, type ModelInfo, resolveModel } from "./catalog.ts";
import { ContextOverflowError } from "./errors.ts";
import { isAssistantOutput } from "./items.ts";
import {
  hardClear,
  hardClearTokens,
  type PruningOptions,
  type PruningReport,
  type ResolvedPruning,
  resolvePruning,
  softTrim,
  softTrimTokens,
} from "./prune.ts";
import {
  firstCutAtOrAfter,
  getWindowIndex,
  ROLE_PINNED,
  ROLE_REGULAR,
  type WindowIndex,
} from "./window-index.ts";

export { OMITTED_ITEM_ID, OMITTED_TOKENS };

export interface BuildWindowOptions {
  /** The model (catalog id/alias or entry): gives the context window and provider quirks. */
  model: string | ModelInfo;
  /** Catalog for resolving a model id. Default: the shipped catalog. */
  catalog?: ModelCatalog;
  /** Output tokens to leave room for. Default: the model's maxOutputTokens. */
  maxOutputTokens?: number;
  /** Tokens kept free for what the caller adds (tool schemas, instructions). Default 0. */
  reserve?: number;
  /** An extra cap on input tokens (e.g. to bound cost). */
  maxInputTokens?: number;
  /** Multiplier from stored counts to this model's tokens (counted with another tokenizer). Default 1. */
  tokenScale?: number;
  /** Require user/assistant alternation (Anthropic). Default: the model's `alternation`. */
  alternation?: boolean;
  /**
   * Older items than those given exist but were not loaded (a read of only the newest): a window
   * opened for alternation then says earlier conversation was omitted. Default false.
   */
  olderNotLoaded?: boolean;
  /** Pruning of old tool outputs (window only). `false` disables. Default: enabled with defaults. */
  pruning?: PruningOptions | boolean;
  /**
   * Keep the index of `items` for later calls with the same array (cached per array, rebuilt when
   * its length changes). Default true; pass `false` for an array built for this one call: its
   * cached index would outlive young-generation GCs and end up as old-space garbage.
   */
  cacheIndex?: boolean;
}

/** Loaded items (ascending seq), or an object holding them. */
export type WindowInput = readonly Item[] | { items: readonly Item[] };

export interface ContextWindow {
  /** Items to send, in transcript order (a summary sits where its covered range was). */
  items: Item[];
  tokens: number;
  budget: number;
  /** Stored items not sent (covered by the summary, too old, or invalid such as orphan outputs). */
  droppedCount: number;
  summaryUsed: boolean;
  pruning: PruningReport[];
}

const SOFT = 1;
const HARD = 2;

function nonNegativeInt(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer.`, { param: name });
  }
  return value as number;
}

interface Budget {
  budget: number;
  detail: string;
}

function computeBudget(model: ModelInfo, options: BuildWindowOptions): Budget {
  const maxOutput =
    options.maxOutputTokens === undefined
      ? model.maxOutputTokens
      : nonNegativeInt(options.maxOutputTokens, "maxOutputTokens");
  const reserve = options.reserve === undefined ? 0 : nonNegativeInt(options.reserve, "reserve");
  let limit = model.contextWindow - maxOutput;
  if (model.maxInputTokens !== null) limit = Math.min(limit, model.maxInputTokens);
  if (options.maxInputTokens !== undefined)
    limit = Math.min(limit, nonNegativeInt(options.maxInputTokens, "maxInputTokens"));
  const budget = limit - reserve;
  const detail = `${model.id}: context ${model.contextWindow}, output ${maxOutput}, reserve ${reserve}`;
  if (budget <= 0) {
    throw new InvalidArgumentError(`No input budget left for ${detail}; lower maxOutputTokens or reserve.`, {
      param: options.reserve ? "reserve" : "maxOutputTokens",
    });
  }
  return { budget, detail };
}

/** Start of the K-th newest unit that holds model output; units from there on are never pruned. */
function protectedFrom(index: WindowIndex, keepRecentTurns: number, minK: number): number {
  if (keepRecentTurns === 0) return index.length;
  let found = 0;
  for (let k = index.cutCount - 2; k >= minK; k--) {
    const a = index.cuts[k] as number;
    const b = index.cuts[k + 1] as number;
    for (let i = a; i < b; i++) {
      if (index.roles[i] === ROLE_REGULAR && isAssistantOutput(index.items[i] as Item)) {
        found++;
        break;
      }
    }
    if (found >= keepRecentTurns) return a;
  }
  return 0;
}

function unitCost(index: WindowIndex, a: number, b: number, mode: number, o: ResolvedPruning): number {
  let sum = 0;
  for (let i = a; i < b; i++) {
    if (index.roles[i] !== ROLE_REGULAR) continue;
    const item = index.items[i] as Item;
    sum += mode === SOFT ? softTrimTokens(item, o) : hardClearTokens(item);
  }
  return sum;
}

interface Selection {
  start: number;
  used: number;
  /** Pruned item indexes and their mode (SOFT or HARD). */
  pruned: Map<number, number>;
}

/**
 * Pruning, once truncation is unavoidable. Reach first: walking newest-first, the protected
 * recent turns count in full, older units as soft-trimmed, and from the first unit that no longer
 * fits even trimmed, as hard-cleared — the oldest start the window can afford. Then the least
 * pruning that fits from that start: soft-trim outputs oldest first until the excess is gone,
 * and only if soft-trimming everything is not enough, hard-clear oldest first.
 */
function selectWithPruning(index: WindowIndex, raw: number, minK: number, o: ResolvedPruning): Selection {
  const protect = protectedFrom(index, o.keepRecentTurns, minK);
  let used = 0;
  let start = index.length;
  let mode = SOFT;
  for (let k = index.cutCount - 2; k >= minK; k--) {
    const a = index.cuts[k] as number;
    const b = index.cuts[k + 1] as number;
    const full = (index.prefix[b] as number) - (index.prefix[a] as number);
    if (a >= protect) {
      if (used + full > raw) break;
      used += full;
      start = a;
      continue;
    }
    if (mode === SOFT) {
      const soft = unitCost(index, a, b, SOFT, o);
      if (used + soft <= raw) {
        used += soft;
        start = a;
        continue;
      }
      mode = HARD;
    }
    const hard = unitCost(index, a, b, HARD, o);
    if (used + hard > raw) break;
    used += hard;
    start = a;
  }
  const pruned = new Map<number, number>();
  const full = (index.prefix[index.length] as number) - (index.prefix[start] as number);
  let excess = full - raw;
  const end = Math.min(protect, index.length);
  for (let i = start; i < end && excess > 0; i++) {
    if (index.roles[i] !== ROLE_REGULAR) continue;
    const item = index.items[i] as Item;
    const saved = item.tokens - softTrimTokens(item, o);
    if (saved > 0) {
      pruned.set(i, SOFT);
      excess -= saved;
    }
  }
  for (let i = start; i < end && excess > 0; i++) {
    if (index.roles[i] !== ROLE_REGULAR) continue;
    const item = index.items[i] as Item;
    const soft = pruned.get(i) === SOFT ? item.tokens - softTrimTokens(item, o) : 0;
    const extra = item.tokens - hardClearTokens(item) - soft;
    if (extra > 0) {
      pruned.set(i, HARD);
      excess -= extra;
    }
  }
  return { start, used: raw + excess, pruned };
}

/** Smallest start (a cut at or after minK) whose suffix fits `raw`. */
function selectPlain(index: WindowIndex, raw: number, minK: number): Selection {
  const total = index.prefix[index.length] as number;
  let lo = minK;
  let hi = index.cutCount - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (total - (index.prefix[index.cuts[mid] as number] as number) <= raw) hi = mid;
    else lo = mid + 1;
  }
  const start = index.cuts[lo] as number;
  return { start, used: total - (index.prefix[start] as number), pruned: new Map() };
}

/** Cheapest possible cost of the newest unit, for the overflow message. */
function newestUnitCost(index: WindowIndex, minK: number, o: ResolvedPruning): number {
  const last = index.cutCount - 1;
  if (last <= minK) return 0;
  const a = index.cuts[last - 1] as number;
  const b = index.cuts[last] as number;
  const full = (index.prefix[b] as number) - (index.prefix[a] as number);
  if (!o.enabled || protectedFrom(index, o.keepRecentTurns, minK) <= a) return full;
  return Math.min(full, unitCost(index, a, b, HARD, o));
}

/**
 * Stored tokens × tokenScale, rounded up, without float noise: 170 × 1.1 is 187.00000000000003,
 * which must not round up to 188 (the selection allowed exactly floor(budget / scale)).
 */
function scaled(tokens: number, scale: number): number {
  const value = tokens * scale;
  return Math.ceil(value - value * 1e-12);
}

/**
 * Whether a conversational item before `start` is not sent: too old for the budget, or covered
 * by the summary. Pinned items are sent wherever they are, and invalid ones (orphan outputs) are
 * never history the window chose to leave out.
 */
function leftOutBefore(index: WindowIndex, start: number): boolean {
  // Regular tokens before the start answer it at once; only zero-token items need the walk.
  if ((index.prefix[start] as number) > 0) return true;
  for (let i = 0; i < start; i++) if (index.roles[i] === ROLE_REGULAR) return true;
  return false;
}

/**
 * Fits loaded items to a model's input budget. Throws `context_overflow` (ContextOverflowError)
 * when pinned items, the summary and the newest unit cannot fit, saying by how many tokens.
 */
export function buildWindow(input: WindowInput, options: BuildWindowOptions): ContextWindow {
  if (options === null || typeof options !== "object" || options.model === undefined) {
    throw new InvalidArgumentError("buildWindow needs options.model (a catalog id or entry).", {
      param: "model",
    });
  }
  const model = resolveModel(options.model, options.catalog);
  const { budget, detail } = computeBudget(model, options);
  const scale = options.tokenScale ?? 1;
  if (typeof scale !== "number" || !(scale > 0 && Number.isFinite(scale))) {
    throw new InvalidArgumentError("tokenScale must be a positive number.", { param: "tokenScale" });
  }
  const alternation = options.alternation ?? model.alternation;
  const pruning = resolvePruning(options.pruning);
  const items = Array.isArray(input)
    ? (input as readonly Item[])
    : (input as { items: readonly Item[] }).items;
  const index = getWindowIndex(items, options.cacheIndex !== false);

  const summaryTokens = index.summary >= 0 ? (items[index.summary] as Item).tokens : 0;
  const fixed = index.pinnedTokens + summaryTokens + (alternation ? OMITTED_TOKENS : 0);
  const raw = Math.floor(budget / scale) - fixed;
  const minK = firstCutAtOrAfter(index, index.firstUncovered);
  const hasUnits = minK < index.cutCount - 1;
  const overflow = (): ContextOverflowError =>
    new ContextOverflowError(scaled(fixed + newestUnitCost(index, minK, pruning), scale), budget, detail);
  if (raw < 0) throw overflow();

  let selection = selectPlain(index, raw, minK);
  if (pruning.enabled && selection.start > (index.cuts[minK] as number)) {
    selection = selectWithPruning(index, raw, minK, pruning);
  }
  if (hasUnits && selection.start >= index.length) throw overflow();

  // Assemble in transcript order: pinned items before the suffix, the summary where its range was.
  const out: Item[] = [];
  const summaryItem = index.summary >= 0 ? (items[index.summary] as Item) : null;
  let summaryPending = summaryItem !== null;
  for (const p of index.pinned) {
    if (p >= selection.start) break;
    if (summaryPending && p >= index.firstUncovered) {
      out.push(summaryItem as Item);
      summaryPending = false;
    }
    out.push(items[p] as Item);
  }
  if (summaryPending) out.push(summaryItem as Item);
  const modes = selection.pruned;
  const reports: PruningReport[] = [];
  for (let i = selection.start; i < index.length; i++) {
    const role = index.roles[i];
    if (role === ROLE_PINNED) out.push(items[i] as Item);
    if (role !== ROLE_REGULAR) continue;
    const item = items[i] as Item;
    const mode = modes.get(i);
    const kept = mode === SOFT ? softTrim(item, pruning) : mode === HARD ? hardClear(item) : item;
    if (kept !== item) {
      reports.push({
        seq: item.seq,
        itemId: item.id,
        action: mode === SOFT ? "soft_trim" : "hard_clear",
        tokensSaved: item.tokens - kept.tokens,
      });
    }
    out.push(kept);
  }

  let used = fixed + selection.used;
  let final = out;
  let sentStored = out.length;
  if (alternation) {
    const fixedUp = enforceAlternation(
      out,
      options.olderNotLoaded === true || leftOutBefore(index, selection.start),
    );
    final = fixedUp.items;
    // The opener's tokens were reserved up front; give them back when none was needed.
    used -= fixedUp.droppedTokens + (fixedUp.inserted ? 0 : OMITTED_TOKENS);
    sentStored -= fixedUp.dropped;
  }
  return {
    items: final,
    tokens: scaled(used, scale),
    budget,
    droppedCount: index.length - sentStored,
    summaryUsed: summaryItem !== null,
    pruning: reports,
  };
}
