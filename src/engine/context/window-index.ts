/**
 * A precomputed index over a loaded item list so `buildWindow` runs in O(log n + window): running
 * token totals, the positions where a window may start without splitting a call from its
 * output, pinned items, and the latest summary. Indexes are cached per items array in a
 * WeakMap (collected with the array) and rebuilt when the array's length changed. Callers must
 * not edit a loaded array in place (appending is fine: the length changes).
 *
 * A caller that passes each array only once (the turn engine builds a fresh one per turn) asks
 * for no caching: a WeakMap entry survives young-generation GCs (V8 scavenges keep the values of
 * an old-space WeakMap alive, and the index holds its array), so every cached index of a one-shot
 * array is promoted and becomes old-space garbage that only a mark-compact frees.
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

/** The index of `items`, from cache when the array is unchanged; `cacheIt = false` neither reads nor fills the cache. */
export function getWindowIndex(items: readonly Item[], cacheIt = true): WindowIndex {
  if (!cacheIt) return buildWindowIndex(items);
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

  // Pass 1: classify. Only calls still awaiting an output are kept in `pending`, so the map
  // stays tiny (a few entries) however long the history is.
  const pending = new Map<string, number>();
  let excludedCount = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i] as Item;
    let role = ROLE_REGULAR;
    if (i === summary) role = ROLE_SUMMARY;
    else if (isCall(item)) {
      const id = callIdOf(item);
      if (id === null) role = ROLE_EXCLUDED;
      else {
        // A reused call id: the earlier call can no longer be matched, leave it out.
        const earlier = pending.get(id);
        if (earlier !== undefined) roles[earlier] = ROLE_EXCLUDED;
        pending.set(id, i);
      }
    } else if (isOutput(item)) {
      const id = callIdOf(item);
      if (id !== null && pending.has(id)) pending.delete(id);
      else role = ROLE_EXCLUDED; // orphan: its call is missing or already answered
    } else if (item.type === "summary" && isSummaryItem(item)) role = ROLE_EXCLUDED;
    else if (isPinned(item)) role = ROLE_PINNED;
    roles[i] = role;
  }
  // Calls never answered are left out: providers reject a call without its output.
  for (const i of pending.values()) roles[i] = ROLE_EXCLUDED;

  // Pass 2: running totals and safe cut points.
  const prefix = new Float64Array(n + 1);
  const cutList: number[] = [];
  const pinned: number[] = [];
  let pinnedTokens = 0;
  let firstUncovered = n;
  let open = 0;
  let prevReasoning = false;
  for (let i = 0; i < n; i++) {
    const item = items[i] as Item;
    if (firstUncovered === n && item.seq > coveredTo) firstUncovered = i;
    // A cut before i is safe when no kept call awaits its output and no reasoning item waits
    // for the call it belongs to.
    if (open === 0 && !prevReasoning) cutList.push(i);
    const role = roles[i];
    if (role === ROLE_REGULAR) {
      if (isCall(item)) open++;
      else if (isOutput(item)) open--;
      prefix[i + 1] = (prefix[i] as number) + item.tokens;
    } else {
      prefix[i + 1] = prefix[i] as number;
      if (role === ROLE_PINNED) {
        pinned.push(i);
        pinnedTokens += item.tokens;
      } else if (role === ROLE_EXCLUDED) excludedCount++;
    }
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
