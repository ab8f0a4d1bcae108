/**
 * `memory:` — sessions in a Map, for tests and embedding. Every operation runs synchronously
 * inside one call, so it is atomic with respect to every other operation in the process.
 * Values handed out are copies; nothing a caller does to them reaches the store. Item contents
 * and session state are kept as JSON text and parsed on every read: that is the copy, and
 * `JSON.parse` of a small object costs a fraction of a `structuredClone` of it. The entry model
 * lives in memory-entry.ts, the lifecycle capability in memory-lifecycle.ts.
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
  SessionArchivedError,
  sessionNotFound,
  versionConflict,
} from "../errors.ts";
import type { AppendResult, Item, Session } from "../types.ts";
import {
  alive,
  type Entry,
  itemNotFound,
  lowerBound,
  newEntry,
  pushNumbered,
  seqRange,
  sessionExists,
  snapshot,
  storeItem,
  storePrepared,
  toItem,
  toItems,
  totalTokens,
} from "./memory-entry.ts";
import { createMemoryLifecycle } from "./memory-lifecycle.ts";
import { compareSessions, matchesListQuery, sessionBytes } from "./shared.ts";

export const DRIVER_NAME = "memory";

/** Sets or releases the turn claim as an append asked. */
function applyClaim(entry: Entry, claim: DriverAppend["claim"]): void {
  if (claim) entry.claim = claim.release ? null : { holder: claim.holder, until: claim.until };
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

  #checkVersion(entry: Entry, expected: number | undefined): void {
    if (expected !== undefined && entry.session.version !== expected) {
      throw versionConflict(entry.session.id, expected, entry.session.version);
    }
  }

  #push(entry: Entry, items: PreparedItem[]): void {
    const first = entry.session.lastSeq + 1;
    pushNumbered(
      entry,
      items.map((p, i) => storePrepared(p, first + i)),
    );
    entry.session.tokenCount = totalTokens(entry);
  }

  async createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    const key = this.#key(session.tenant, session.id);
    const existing = this.#entries.get(key);
    if (existing) throw sessionExists(session.id);
    const entry = newEntry(session, null);
    this.#assertItemIdsFree(entry, items);
    this.#push(entry, items);
    if (items.length > 0) entry.session.version += 1;
    this.#entries.set(key, entry);
    return snapshot(entry);
  }

  async getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    const entry = this.#entries.get(this.#key(tenant, id));
    return alive(entry, now) ? snapshot(entry) : null;
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
    return rows.slice(0, query.limit).map((s) => snapshot(this.#entries.get(this.#key(tenant, s.id))!));
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
    return snapshot(entry);
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
        applyClaim(entry, claim);
        // The answer of the first append, not the record: its payload hash is the store's own.
        const { version, firstSeq, lastSeq } = done;
        return { version, firstSeq, lastSeq, replayed: true, items: toItems(replay) };
      }
    }
    if (entry.session.status === "archived") throw new SessionArchivedError(id);
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
    applyClaim(entry, claim);
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
    if (!item) throw itemNotFound(itemId, id);
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
    return { session: snapshot(entry), startSeq, items: toItems(range) };
  }

  async fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    const parent = this.#visible(tenant, parentId, now);
    if (this.#entries.has(this.#key(tenant, child.id))) throw sessionExists(child.id);
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
    entry.session.tokenCount = totalTokens(entry);
    this.#entries.set(this.#key(tenant, child.id), entry);
    return snapshot(entry);
  }

  async touch(tenant: string, id: string, now: number): Promise<Session> {
    const entry = this.#visible(tenant, id, now);
    entry.session.lastActiveAt = now;
    return snapshot(entry);
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
    pushNumbered(entry, items.map(storeItem));
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
    pushNumbered(entry, change.items.map(storeItem));
    entry.session.tokenCount = totalTokens(entry);
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

  async deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session> {
    const entry = this.#visible(tenant, id, write.now);
    this.#checkVersion(entry, write.expectedVersion);
    const doomed = new Set<number>();
    for (const itemId of itemIds) {
      const index = entry.itemIndex.get(itemId);
      if (index === undefined) throw itemNotFound(itemId, id);
      doomed.add(index);
    }
    const kept = entry.items.filter((_, index) => !doomed.has(index));
    const lastSeq = entry.session.lastSeq;
    entry.items = [];
    entry.cumTokens = [];
    entry.itemBytes = 0;
    entry.itemIndex = new Map();
    pushNumbered(entry, kept);
    Object.assign(entry.session, {
      lastSeq,
      tokenCount: totalTokens(entry),
      version: entry.session.version + 1,
      updatedAt: write.now,
    });
    return snapshot(entry);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}

export function createMemoryDriver(): StoreDriver {
  return new MemoryDriver();
}
