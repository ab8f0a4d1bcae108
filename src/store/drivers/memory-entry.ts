/**
 * How the `memory:` driver keeps one session: the entry, its items as JSON text, the indexes over
 * them, and the fresh copies handed to callers. Pure data helpers; memory.ts runs the operations.
 */
import type { PreparedItem } from "../driver.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import type { Item, Session } from "../types.ts";
import { isVisible, sessionBytes } from "./shared.ts";

/** An item as kept: its content as JSON text, so nothing outside can reach it. */
export interface StoredItem {
  seq: number;
  id: string;
  type: string;
  role: string | null;
  status: string | null;
  json: string;
  tokens: number;
  bytes: number;
  turnId: string | null;
  createdAt: number;
}

export interface Entry {
  /** `session.state` is a private copy; reads parse `stateJson` instead of cloning it. */
  session: Session;
  stateJson: string;
  items: StoredItem[];
  /** Running token total through each item (same index as `items`). */
  cumTokens: number[];
  itemBytes: number;
  /** Item id → index in `items`. */
  itemIndex: Map<string, number>;
  operations: Map<string, { hash: string; firstSeq: number; lastSeq: number; version: number }>;
  /** Replicas only: the copy is dropped once this passes. */
  retainUntil: number | null;
  /** The turn claim (driver.ts DriverAppend.claim); not session data, never copied by fork. */
  claim: { holder: string; until: number } | null;
}

export function storePrepared(p: PreparedItem, seq: number): StoredItem {
  return {
    seq,
    id: p.id,
    type: p.type,
    role: p.role,
    status: p.status,
    json: p.contentJson,
    tokens: p.tokens,
    bytes: p.bytes,
    turnId: p.turnId,
    createdAt: p.createdAt,
  };
}

export function storeItem(item: Item): StoredItem {
  const { content, ...rest } = item;
  return { ...rest, json: JSON.stringify(content) };
}

/** A fresh copy for a caller. */
export function toItem(s: StoredItem): Item {
  return {
    seq: s.seq,
    id: s.id,
    type: s.type,
    role: s.role,
    status: s.status,
    content: JSON.parse(s.json) as Item["content"],
    tokens: s.tokens,
    bytes: s.bytes,
    turnId: s.turnId,
    createdAt: s.createdAt,
  };
}

export function toItems(stored: StoredItem[]): Item[] {
  return stored.map(toItem);
}

/** An empty entry for `session` (copied, so the caller's object stays theirs). */
export function newEntry(session: Session, retainUntil: number | null): Entry {
  const { metadata, labels, state, forkParent } = session;
  const stateJson = JSON.stringify(state);
  return {
    session: {
      ...session,
      state: JSON.parse(stateJson) as Session["state"],
      metadata: { ...metadata },
      labels: [...labels],
      forkParent: forkParent === null ? null : { ...forkParent },
    },
    stateJson,
    items: [],
    cumTokens: [],
    itemBytes: 0,
    itemIndex: new Map(),
    operations: new Map(),
    retainUntil,
    claim: null,
  };
}

/** A fresh copy of the entry's session for a caller, with its current size. */
export function snapshot(entry: Entry): Session {
  const session = entry.session;
  return {
    ...session,
    metadata: { ...session.metadata },
    labels: [...session.labels],
    state: JSON.parse(entry.stateJson) as Session["state"],
    forkParent: session.forkParent === null ? null : { ...session.forkParent },
    bytes: sessionBytes(entry.itemBytes, entry.stateJson),
  };
}

/** Index of the first stored item whose seq is at least `seq` (items are in seq order). */
export function lowerBound(items: StoredItem[], seq: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Stored items with `from <= seq <= to`. */
export function seqRange(items: StoredItem[], from: number, to: number): StoredItem[] {
  return items.slice(lowerBound(items, from), lowerBound(items, to + 1));
}

/** The entry exists, its session is visible at `now`, and (for a replica) it is still retained. */
export function alive(entry: Entry | undefined, now: number): entry is Entry {
  if (!entry || !isVisible(entry.session, now)) return false;
  return entry.retainUntil === null || entry.retainUntil > now;
}

/** Appends already-numbered items, keeping the indexes, byte total, item count and last seq. */
export function pushNumbered(entry: Entry, items: StoredItem[]): void {
  for (const item of items) {
    entry.itemIndex.set(item.id, entry.items.length);
    entry.items.push(item);
    entry.cumTokens.push((entry.cumTokens.at(-1) ?? 0) + item.tokens);
    entry.itemBytes += item.bytes;
  }
  entry.session.itemCount = entry.items.length;
  entry.session.lastSeq = Math.max(entry.session.lastSeq, entry.items.at(-1)?.seq ?? 0);
}

/** The session's token count: the running total through its last item. */
export function totalTokens(entry: Entry): number {
  return entry.cumTokens.at(-1) ?? 0;
}

export function sessionExists(id: string): ConflictError {
  return new ConflictError(`A session with id '${id}' already exists.`, { param: "id" });
}

export function itemNotFound(itemId: string, sessionId: string): NotFoundError {
  return new NotFoundError(`No item '${itemId}' in session '${sessionId}'.`, { param: "item_id" });
}
