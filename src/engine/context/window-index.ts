/**
 * A precomputed index over a loaded item list so `buildWindow` runs in O(log n + window): running
 * token totals, the positions where a window may start without splitting a call from its
 * output, pinned items, and the latest summary. Indexes are cached per items array in a
 * WeakMap (collected with the array) and rebuilt when the array's length changed. Callers must
 * not edit a loaded array in place (appending is fine: the length changes).
 */
import type { Item } from "../../store/types.ts";
import { callIdOf, isCall, isOutput, isPinned } from "./items.ts";
import { isSummaryItem, readCovers } from "./summary.ts";

/** What an item is to the window. */
export const ROLE_REGULAR = 0;
export const ROLE_PINNED = 1;
/** Orphan outputs, unanswered calls and superseded summaries are never sent. */
export const ROLE_EXCLUDED = 2;
export const ROLE_SUMMARY = 3;

export interface WindowIndex {
  readonly items: readonly Item[];
  readonly length: number;
  /** prefix[i] = tokens of regular items before index i. */
  readonly prefix: Float64Array;
  /** Per item: ROLE_*. */
  readonly roles: Uint8Array;
  /** Ascending indexes where a window may start (always includes `length`). */
  readonly cuts: Int32Array;
  readonly cutCount: number;
  /** Ascending indexes of pinned items and their total tokens. */
  readonly pinned: readonly number[];
  readonly pinnedTokens: number;
  /** Index of the latest summary, or -1. */
  readonly summary: number;
  /** First index whose seq is after the latest summary's covered range (0 without one). */
  readonly firstUncovered: number;
  /** Excluded items (counted as dropped). */
  readonly excludedCount: number;
}

const cache = new WeakMap<readonly Item[], WindowIndex>();

/** The index of `items`, from cache when the array is unchanged. */
export function getWindowIndex(items: readonly Item[]): WindowIndex {
  const cached = cache.get(items);
  if (cached && cached.length === items.length) return cached;
  const index = buildWindowIndex(items);
  cache.set(items, index);
  return index;
}

/** Builds the index of a loaded item list (ascending seq). O(n). */
export function buildWindowIndex(items: readonly Item[]): WindowIndex {
  const n = items.length;
  const roles = new Uint8Array(n);
  // Latest summary first: it decides what is covered.
  let summary = -1;
  for (let i = n - 1; i >= 0; i--) {
    if (isSummaryItem(items[i] as Item)) {
      summary = i;
      break;
    }
  }
  const coveredTo = summary >= 0 ? (readCovers((items[summary] as Item).content)?.toSeq ?? 0) : 0;

  // Calls that get an output later, and outputs whose call came before: pairs we keep.
  const seenCalls = new Set<string>();
  const answered = new Set<string>();
  for (let i = 0; i < n; i++) {
    const item = items[i] as Item;
    const id = callIdOf(item);
    if (id === null) continue;
    if (isCall(item)) seenCalls.add(id);
    else if (isOutput(item) && seenCalls.has(id)) answered.add(id);
  }

  const prefix = new Float64Array(n + 1);
  const cutList: number[] = [];
  const pinned: number[] = [];
  let pinnedTokens = 0;
  let excludedCount = 0;
  let firstUncovered = n;
  const open = new Set<string>();
  const callsSeen = new Set<string>();
  let prevReasoning = false;
  for (let i = 0; i < n; i++) {
    const item = items[i] as Item;
    if (firstUncovered === n && item.seq > coveredTo) firstUncovered = i;
    // A cut before i is safe when no kept call awaits its output and no reasoning item waits
    // for the call it belongs to.
    if (open.size === 0 && !prevReasoning) cutList.push(i);
    let role = ROLE_REGULAR;
    const id = callIdOf(item);
    if (i === summary) role = ROLE_SUMMARY;
    else if (isSummaryItem(item)) role = ROLE_EXCLUDED;
    else if (isPinned(item)) role = ROLE_PINNED;
    else if (isCall(item)) {
      if (id === null || !answered.has(id)) role = ROLE_EXCLUDED;
      else {
        open.add(id);
        callsSeen.add(id);
      }
    } else if (isOutput(item)) {
      if (id === null || !callsSeen.has(id)) role = ROLE_EXCLUDED;
      else open.delete(id);
    }
    roles[i] = role;
    if (role === ROLE_PINNED) {
      pinned.push(i);
      pinnedTokens += item.tokens;
    } else if (role === ROLE_EXCLUDED) excludedCount++;
    prefix[i + 1] = (prefix[i] as number) + (role === ROLE_REGULAR ? item.tokens : 0);
    if (role !== ROLE_EXCLUDED) prevReasoning = item.type === "reasoning";
  }
  cutList.push(n);
  return Object.freeze({
    items,
    length: n,
    prefix,
    roles,
    cuts: Int32Array.from(cutList),
    cutCount: cutList.length,
    pinned: Object.freeze(pinned),
    pinnedTokens,
    summary,
    firstUncovered: summary >= 0 ? firstUncovered : 0,
    excludedCount,
  });
}

/** Smallest k with cuts[k] >= index. */
export function firstCutAtOrAfter(index: WindowIndex, at: number): number {
  let lo = 0;
  let hi = index.cutCount - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((index.cuts[mid] as number) >= at) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
