/**
 * `memory:` — sessions in a Map, for tests and embedding. Every operation runs synchronously
 * inside one call, so it is atomic with respect to every other operation in the process.
 * Values handed out are copies; nothing a caller does to them reaches the store. Item contents
 * and session state are kept as JSON text and parsed on every read: that is the copy, and
 * `JSON.parse` of a small object costs a fraction of a `structuredClone` of it.
 */
import type {
  DriverAppend,
  DriverListQuery,
  DriverReadQuery,
  DriverWindow,
  DriverWrite,
  ItemDeleteCapable,
  PreparedItem,
  ReplicaTarget,
  SessionChanges,
  StoreDriver,
} from "../driver.ts";
import {
  ConflictError,
  conversationBusy,
  NotFoundError,
  sessionNotFound,
  versionConflict,
} from "../errors.ts";
import type { AppendResult, Item, Session } from "../types.ts";
import { createMemoryLifecycle } from "./memory-lifecycle.ts";
import { compareSessions, isVisible, matchesListQuery, sessionBytes } from "./shared.ts";

export const DRIVER_NAME = "memory";

/** An item as kept: its content as JSON text, so nothing outside can reach it. */
interface StoredItem {
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

interface Entry {
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

function storePrepared(p: PreparedItem, seq: number): StoredItem {
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

function storeItem(item: Item): StoredItem {
  const { content, ...rest } = item;
  return { ...rest, json: JSON.stringify(content) };
}

/** A fresh copy for a caller. */
function toItem(s: StoredItem): Item {
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

function toItems(stored: StoredItem[]): Item[] {
  return stored.map(toItem);
}

/** An empty entry for `session` (copied, so the caller's object stays theirs). */
function newEntry(session: Session, retainUntil: number | null): Entry {
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

/** Index of the first stored item whose seq is at least `seq` (items are in seq order). */
function lowerBound(items: StoredItem[], seq: number): number {
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
function seqRange(items: StoredItem[], from: number, to: number): StoredItem[] {
  return items.slice(lowerBound(items, from), lowerBound(items, to + 1));
}

function alive(entry: Entry | undefined, now: number): entry is Entry {
  if (!entry || !isVisible(entry.session, now)) return false;
  return entry.retainUntil === null || entry.retainUntil > now;
}

class MemoryDriver implements StoreDriver, ReplicaTarget, ItemDeleteCapable {
  readonly name = DRIVER_NAME;
  readonly #entries = new Map<string, Entry>();

  constructor() {
    // The optional LifecycleCapable methods (driver.ts) live in memory-lifecycle.ts.
    Object.assign(this, createMemoryLifecycle(this.#entries, { toItem, fromItem: storeItem }));
  }

  #key(tenant: string, id: string): string {
    return `${tenant}\u0000${id}`;
  }

  #visible(tenant: string, id: string, now: number): Entry {
    const entry = this.#entries.get(this.#key(tenant, id));
    if (!alive(entry, now)) throw sessionNotFound(id);
    return entry;
  }

  #snapshot(entry: Entry): Session {
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

  #checkVersion(entry: Entry, expected: number | undefined): void {
    if (expected !== undefined && entry.session.version !== expected) {
      throw versionConflict(entry.session.id, expected, entry.session.version);
    }
  }

  #push(entry: Entry, items: PreparedItem[]): void {
    const first = entry.session.lastSeq + 1;
    this.#pushNumbered(
      entry,
      items.map((p, i) => storePrepared(p, first + i)),
    );
    entry.session.tokenCount = entry.cumTokens.at(-1) ?? 0;
  }

  async createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    const key = this.#key(session.tenant, session.id);
    const existing = this.#entries.get(key);
    if (existing) {
      throw new ConflictError(`A session with id '${session.id}' already exists.`, { param: "id" });
    }
    const entry = newEntry(session, null);
    this.#assertItemIdsFree(entry, items);
    this.#push(entry, items);
    if (items.length > 0) entry.session.version += 1;
    this.#entries.set(key, entry);
    return this.#snapshot(entry);
  }

  async getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    const entry = this.#entries.get(this.#key(tenant, id));
    return alive(entry, now) ? this.#snapshot(entry) : null;
  }

  async listSessions(tenant: string, query: DriverListQuery): Promise<Session[]> {
    const sign = query.order === "asc" ? 1 : -1;
    // `entry.session.bytes` is not kept current (snapshots compute it): size queries need it.
    const sized = query.sort === "bytes" || query.minBytes !== undefined || query.maxBytes !== undefined;
    const rows = [...this.#entries.values()]
      .filter((e) => e.retainUntil === null || e.retainUntil > query.now)
      .map((e) => (sized ? { ...e.session, bytes: sessionBytes(e.itemBytes, e.stateJson) } : e.session))
      .filter((s) => s.tenant === tenant && matchesListQuery(s, query))
      .sort((a, b) => sign * compareSessions(a, b, query.sort));
    return rows.slice(0, query.limit).map((s) => this.#snapshot(this.#entries.get(this.#key(tenant, s.id))!));
  }

  async updateSession(
    tenant: string,
    id: string,
    changes: SessionChanges,
    write: DriverWrite,
  ): Promise<Session> {
    const entry = this.#visible(tenant, id, write.now);
    this.#checkVersion(entry, write.expectedVersion);
    const { state, metadata, labels, ...scalars } = changes;
    Object.assign(entry.session, scalars);
    if (metadata !== undefined) entry.session.metadata = { ...metadata };
    if (labels !== undefined) entry.session.labels = [...labels];
    if (state !== undefined) {
      entry.stateJson = JSON.stringify(state);
      entry.session.state = JSON.parse(entry.stateJson) as Session["state"];
    }
    entry.session.version += 1;
    entry.session.updatedAt = write.now;
    return this.#snapshot(entry);
  }

  async deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void> {
    const entry = this.#visible(tenant, id, write.now);
    this.#checkVersion(entry, write.expectedVersion);
    this.#entries.delete(this.#key(tenant, id));
  }

  #assertItemIdsFree(entry: Entry, items: PreparedItem[]): void {
    for (const p of items) {
      if (entry.itemIndex.has(p.id)) {
        throw new ConflictError(`Item id '${p.id}' already exists in session '${entry.session.id}'.`, {
          param: "items.id",
        });
      }
    }
  }

  async append(
    tenant: string,
    id: string,
    items: PreparedItem[],
    options: DriverAppend,
  ): Promise<AppendResult> {
    const entry = this.#visible(tenant, id, options.now);
    const claim = options.claim;
    if (claim) {
      const held = entry.claim;
      if (held && held.holder !== claim.holder && held.until > options.now) throw conversationBusy(id);
    }
    if (options.operationId !== undefined) {
      const done = entry.operations.get(options.operationId);
      if (done) {
        if (done.hash !== options.payloadHash) {
          throw new ConflictError(
            `Operation id '${options.operationId}' was already used with a different payload.`,
            { param: "operation_id", code: "idempotency_conflict" },
          );
        }
        const replay = seqRange(entry.items, done.firstSeq, done.lastSeq);
        if (claim) entry.claim = claim.release ? null : { holder: claim.holder, until: claim.until };
        return { ...done, replayed: true, items: toItems(replay) };
      }
    }
    this.#checkVersion(entry, options.expectedVersion);
    this.#assertItemIdsFree(entry, items);
    const firstSeq = entry.session.lastSeq + 1;
    this.#push(entry, items);
    const session = entry.session;
    session.version += 1;
    session.updatedAt = options.now;
    session.lastActiveAt = options.now;
    const result = { version: session.version, firstSeq, lastSeq: session.lastSeq };
    if (options.operationId !== undefined) {
      entry.operations.set(options.operationId, { ...result, hash: options.payloadHash });
    }
    if (claim) entry.claim = claim.release ? null : { holder: claim.holder, until: claim.until };
    return { ...result, replayed: false, items: toItems(entry.items.slice(-items.length)) };
  }

  async readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]> {
    const entry = this.#visible(tenant, id, now);
    const after = query.afterSeq ?? 0;
    const before = query.beforeSeq ?? Number.POSITIVE_INFINITY;
    const matching = entry.items.filter((i) => i.seq > after && i.seq < before);
    const ordered = query.order === "desc" ? matching.reverse() : matching;
    return toItems(ordered.slice(0, query.limit));
  }

  async getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item> {
    const entry = this.#visible(tenant, id, now);
    const index = entry.itemIndex.get(itemId);
    const item = index === undefined ? undefined : entry.items[index];
    if (!item) throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
    return toItem(item);
  }

  async readWindow(
    tenant: string,
    id: string,
    maxTokens: number,
    now: number,
    excludeTypes?: readonly string[],
  ): Promise<DriverWindow> {
    const entry = this.#visible(tenant, id, now);
    const floor = entry.session.tokenCount - maxTokens;
    // Binary search for the first item whose running total reaches the floor; the window starts after it.
    let lo = 0;
    let hi = entry.cumTokens.length;
    if (floor > 0) {
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (entry.cumTokens[mid]! >= floor) hi = mid;
        else lo = mid + 1;
      }
      lo += 1;
    }
    let range = entry.items.slice(lo);
    if (excludeTypes) range = range.filter((item) => !excludeTypes.includes(item.type));
    // Seqs may have gaps (deleted items): the range starts just after the boundary item's seq.
    const startSeq = lo === 0 ? 1 : entry.items[lo - 1]!.seq + 1;
    return { session: this.#snapshot(entry), startSeq, items: toItems(range) };
  }

  async fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    const parent = this.#visible(tenant, parentId, now);
    if (this.#entries.has(this.#key(tenant, child.id))) {
      throw new ConflictError(`A session with id '${child.id}' already exists.`, { param: "id" });
    }
    if (atSeq > parent.session.lastSeq) {
      throw new ConflictError(`Session '${parentId}' has no seq ${atSeq}.`, { param: "at_seq" });
    }
    const entry = newEntry(child, null);
    // Stored items are never mutated once pushed, so parent and child may share them.
    const count = lowerBound(parent.items, atSeq + 1);
    entry.items = parent.items.slice(0, count);
    entry.cumTokens = parent.cumTokens.slice(0, count);
    entry.items.forEach((item, index) => {
      entry.itemBytes += item.bytes;
      entry.itemIndex.set(item.id, index);
    });
    entry.session.itemCount = count;
    entry.session.lastSeq = atSeq;
    entry.session.tokenCount = entry.cumTokens.at(-1) ?? 0;
    this.#entries.set(this.#key(tenant, child.id), entry);
    return this.#snapshot(entry);
  }

  async touch(tenant: string, id: string, now: number): Promise<Session> {
    const entry = this.#visible(tenant, id, now);
    entry.session.lastActiveAt = now;
    return this.#snapshot(entry);
  }

  async renewClaim(tenant: string, id: string, holder: string, until: number, now: number): Promise<boolean> {
    const entry = this.#entries.get(this.#key(tenant, id));
    if (!alive(entry, now) || entry.claim?.holder !== holder) return false;
    entry.claim.until = until;
    return true;
  }

  async releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    const entry = this.#entries.get(this.#key(tenant, id));
    if (entry?.claim?.holder === holder) entry.claim = null;
  }

  async putReplica(session: Session, items: Item[], retainUntil: number | null): Promise<void> {
    const entry = newEntry(session, retainUntil);
    this.#pushNumbered(entry, items.map(storeItem));
    this.#entries.set(this.#key(session.tenant, session.id), entry);
  }

  async appendReplica(
    tenant: string,
    id: string,
    change: {
      fromVersion: number;
      toVersion: number;
      items: Item[];
      now: number;
      retainUntil: number | null;
    },
  ): Promise<boolean> {
    const entry = this.#entries.get(this.#key(tenant, id));
    const next = change.items[0]?.seq;
    if (!alive(entry, change.now) || entry.session.version !== change.fromVersion) return false;
    if (next !== entry.session.lastSeq + 1) return false;
    this.#pushNumbered(entry, change.items.map(storeItem));
    entry.session.tokenCount = entry.cumTokens.at(-1) ?? 0;
    Object.assign(entry.session, {
      version: change.toVersion,
      updatedAt: change.now,
      lastActiveAt: change.now,
    });
    entry.retainUntil = change.retainUntil;
    return true;
  }

  async dropReplica(tenant: string, id: string): Promise<void> {
    this.#entries.delete(this.#key(tenant, id));
  }

  #pushNumbered(entry: Entry, items: StoredItem[]): void {
    for (const item of items) {
      entry.itemIndex.set(item.id, entry.items.length);
      entry.items.push(item);
      entry.cumTokens.push((entry.cumTokens.at(-1) ?? 0) + item.tokens);
      entry.itemBytes += item.bytes;
    }
    entry.session.itemCount = entry.items.length;
    entry.session.lastSeq = Math.max(entry.session.lastSeq, entry.items.at(-1)?.seq ?? 0);
  }

  async deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session> {
    const entry = this.#visible(tenant, id, write.now);
    this.#checkVersion(entry, write.expectedVersion);
    const doomed = new Set<number>();
    for (const itemId of itemIds) {
      const index = entry.itemIndex.get(itemId);
      if (index === undefined) {
        throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
      }
      doomed.add(index);
    }
    const kept = entry.items.filter((_, index) => !doomed.has(index));
    const lastSeq = entry.session.lastSeq;
    entry.items = [];
    entry.cumTokens = [];
    entry.itemBytes = 0;
    entry.itemIndex = new Map();
    this.#pushNumbered(entry, kept);
    Object.assign(entry.session, {
      lastSeq,
      tokenCount: entry.cumTokens.at(-1) ?? 0,
      version: entry.session.version + 1,
      updatedAt: write.now,
    });
    return this.#snapshot(entry);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}

export function createMemoryDriver(): StoreDriver {
  return new MemoryDriver();
}
