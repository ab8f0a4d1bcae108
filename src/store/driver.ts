/**
 * The contract a storage driver implements. The core (`core.ts`) validates input, generates
 * ids, counts tokens, computes payload hashes and merges state; a driver only stores and
 * answers, atomically. Drivers never see a clock: the core passes `now` into every call, so
 * expiry is decided the same way on every driver (and tests inject time).
 *
 * Visibility rule every driver applies: a session is visible at `now` when
 * `(idleTtlMs == null || lastActiveAt + idleTtlMs > now) && (expiresAt == null || expiresAt > now)`.
 * An invisible session behaves exactly like a missing one.
 */
import type {
  AppendResult,
  Item,
  JsonObject,
  ListOrder,
  ListSort,
  Session,
  SessionHeadInfo,
  SessionStatus,
} from "./types.ts";

/** An item the core has fully prepared; the driver assigns `seq` and the running token total. */
export interface PreparedItem {
  id: string;
  type: string;
  role: string | null;
  status: string | null;
  /** `call_id` of a function call or its output, used to keep pairs together in windows. */
  callId: string | null;
  content: JsonObject;
  /** `JSON.stringify(content)`, computed once by the core. */
  contentJson: string;
  tokens: number;
  bytes: number;
  turnId: string | null;
  createdAt: number;
}

/** A turn claim as drivers see it: absolute expiry from the core's clock. */
export interface DriverClaim {
  holder: string;
  /** Epoch ms the claim lasts until (ignored when `release`). */
  until: number;
  /** Leave the session unclaimed once the append commits. */
  release: boolean;
}

export interface DriverAppend {
  expectedVersion?: number;
  operationId?: string;
  /**
   * Turn claim rule (types.ts AppendOptions.claim): right after the visibility check, another
   * holder's claim with `until > now` fails the append with `conversation_busy` (errors.ts
   * `conversationBusy`), writing nothing. Otherwise, once the append commits or replays, the
   * claim is `holder` until `until`, or no claim at all with `release`. Same transaction.
   */
  claim?: DriverClaim;
  /** Hash of the items' payload; the same operation id with another hash is a conflict. */
  payloadHash: string;
  now: number;
}

export interface DriverListQuery {
  owner?: string;
  label?: string;
  status?: SessionStatus;
  updatedBefore?: number;
  updatedAfter?: number;
  createdBefore?: number;
  createdAfter?: number;
  /** Bounds on `Session.bytes` (item bytes plus state bytes), inclusive. */
  minBytes?: number;
  maxBytes?: number;
  /** Only sessions whose `forkParent.sessionId` is this id. */
  forkOf?: string;
  /** Sort key: `createdAt`, `updatedAt`, `itemCount` or `bytes`, then `id` (see `sortValue`). */
  sort: ListSort;
  order: ListOrder;
  /** Rows to return (the core asks one more than the page size to know if there is a next page). */
  limit: number;
  /** Keyset position: return sessions strictly after it in `order` by (sort value, id). */
  after?: { value: number; id: string };
  now: number;
}

export interface DriverReadQuery {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
  order: ListOrder;
}

/** Fields an update may set; the driver bumps `version` and sets `updatedAt = now`. */
export type SessionChanges = Partial<
  Pick<Session, "owner" | "metadata" | "labels" | "idleTtlMs" | "expiresAt" | "pinned" | "status" | "state">
>;

export interface DriverWrite {
  expectedVersion?: number;
  now: number;
}

/** What a window needs of its session: no JSON columns to materialize. */
export type WindowHead = Pick<Session, "version" | "itemCount">;

export interface DriverWindow {
  session: WindowHead;
  /**
   * First seq of the range whose suffix token sum fits `maxTokens` (`itemCount + 1` when the
   * range is empty). Items of excluded types inside the range are counted here but not returned.
   */
  startSeq: number;
  /** Items of the range, ascending, without those whose type is in `excludeTypes`. */
  items: Item[];
}

export interface StoreDriver {
  readonly name: string;
  /** Inserts a new session (version 1, or 2 with initial items) and its items; `conflict` if the id exists. */
  createSession(session: Session, items: PreparedItem[]): Promise<Session>;
  getSession(tenant: string, id: string, now: number): Promise<Session | null>;
  listSessions(tenant: string, query: DriverListQuery): Promise<Session[]>;
  updateSession(tenant: string, id: string, changes: SessionChanges, write: DriverWrite): Promise<Session>;
  /** Removes the session, its items and its operation records. `not_found` when invisible. */
  deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void>;
  /**
   * After the visibility, claim and operation-id (replay) checks, a session whose status is
   * `archived` refuses the append with `session_archived` (errors.ts SessionArchivedError),
   * writing nothing: an archive stub's items are in cold storage, new seqs would follow them.
   */
  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult>;
  readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]>;
  getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item>;
  /**
   * The window range is chosen by tokens over every item; `excludeTypes` only leaves items out of
   * the answer (a driver should skip them before decoding: they are usually most of the bytes).
   */
  readWindow(
    tenant: string,
    id: string,
    maxTokens: number,
    now: number,
    excludeTypes?: readonly string[],
  ): Promise<DriverWindow>;
  /** Creates `child` holding copies of the parent's items 1..atSeq. */
  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session>;
  /** Sets `lastActiveAt = now` without bumping the version. */
  touch(tenant: string, id: string, now: number): Promise<Session>;
  /**
   * Sets the claim's expiry to `until` if `holder` holds it (expired or not: nobody took it
   * over). False when it does not or the session is invisible at `now`. No version bump.
   */
  renewClaim(tenant: string, id: string, holder: string, until: number, now: number): Promise<boolean>;
  /** Clears the claim if `holder` holds it. No version bump; a missing session is no error. */
  releaseClaim(tenant: string, id: string, holder: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Optional capability of a driver that can hold exact replicas for a tiered store: the same
 * version, seqs, ids and counters as the authoritative tier. Replicas obey the normal
 * visibility rule and are also dropped once `retainUntil` passes (the hot tier keeps only
 * active sessions).
 */
export interface ReplicaTarget {
  /** Replaces whatever copy exists with `session` and all its `items`. */
  putReplica(session: Session, items: Item[], retainUntil: number | null): Promise<void>;
  /**
   * Appends `items` (already numbered) to a replica that is exactly at `fromVersion`, moving it to
   * `toVersion`. Returns false, changing nothing, when the replica is missing or at another version.
   */
  appendReplica(
    tenant: string,
    id: string,
    change: {
      fromVersion: number;
      toVersion: number;
      items: Item[];
      now: number;
      retainUntil: number | null;
    },
  ): Promise<boolean>;
  dropReplica(tenant: string, id: string): Promise<void>;
}

export function isReplicaTarget(driver: StoreDriver): driver is StoreDriver & ReplicaTarget {
  const d = driver as Partial<ReplicaTarget>;
  return typeof d.putReplica === "function" && typeof d.appendReplica === "function";
}

/**
 * Filters of a lifecycle scan. Unlike every other read, a scan ignores the visibility rule: the
 * sweeper must see expired sessions to remove them. Results come in ascending (tenant, id) order.
 */
export interface LifecycleScanQuery {
  /** Only this tenant (default: every tenant). */
  tenant?: string;
  /** Only this session id. */
  id?: string;
  owner?: string;
  /** Only sessions invisible at this instant (idle or absolute expiry passed). */
  expiredAt?: number;
  /** Only sessions with `lastActiveAt < idleBefore`. */
  idleBefore?: number;
  pinned?: boolean;
  status?: SessionStatus;
  /** Keyset position: sessions strictly after this (tenant, id). */
  after?: { tenant: string; id: string };
  /** Rows to return, 1..10000. */
  limit: number;
}

/** One session to purge; with `version`, it is skipped when it changed since it was planned. */
export interface PurgeTarget {
  tenant: string;
  id: string;
  version?: number;
}

export interface PurgeResult {
  /** Sessions actually removed (skipped ones are not counted). */
  sessions: number;
  items: number;
  /** Item bytes plus state bytes of the removed sessions. */
  bytes: number;
  /** `tenant\u0000id` keys of the removed sessions, in input order. */
  removed: string[];
}

/**
 * Optional capability the lifecycle sweeper needs: scanning regardless of visibility, bulk hard
 * deletes, archive stubs and a lease so only one instance sweeps at a time. Every method takes
 * `now` from the caller (drivers never read a clock).
 */
export interface LifecycleCapable {
  scanSessions(query: LifecycleScanQuery): Promise<Session[]>;
  /** Items of a session whether it is visible or not, ascending seq, after `afterSeq`. */
  scanItems(tenant: string, id: string, afterSeq: number, limit: number): Promise<Item[]>;
  /**
   * Removes the sessions with their items and operation records. Each session goes atomically
   * (row, items, operation records together); a large call may commit in several transactions.
   */
  purgeSessions(targets: PurgeTarget[]): Promise<PurgeResult>;
  /**
   * Turns the session into an archive stub if it is still at `version`: items and operation
   * records removed, counters kept, `status: "archived"`, TTLs cleared (a stub is visible),
   * version bumped by one (the archiver tells a stub made from version v by its version v + 1).
   * Returns null (changing nothing) when the session is missing or moved.
   */
  archiveStub(tenant: string, id: string, change: { version: number; now: number }): Promise<Session | null>;
  /**
   * Puts archived `items` (their original seqs, 1..n) back into a stub still at `version`, sets
   * `status: "active"`, `lastActiveAt = now` and `idleTtlMs`, bumps the version. Null when moved.
   */
  restoreItems(
    tenant: string,
    id: string,
    change: { version: number; items: Item[]; idleTtlMs: number | null; now: number },
  ): Promise<Session | null>;
  /** Takes the named lease for `ttlMs` unless another holder's lease is still running. */
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  /** Extends the lease only while `holder` still holds it; false once it was lost. */
  renewLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  releaseLease(name: string, holder: string): Promise<void>;
}

/**
 * Optional capability: deleting items. A driver keeps `lastSeq` as its seq high-water mark
 * (appends continue after it) and never renumbers: the other items keep their seqs, windows
 * and reads simply skip the gap. The core decides which ids go together (a call and its
 * outputs); the driver removes exactly those, atomically.
 */
export interface ItemDeleteCapable {
  /**
   * Removes the items with these ids (all or none), bumps the version, sets `updatedAt = now`,
   * lowers `itemCount`/`tokenCount`/`bytes` by exactly what was removed and keeps `lastSeq`.
   * `not_found` when the session is invisible or any id is not in it; `conflict` when
   * `expectedVersion` moved.
   */
  deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session>;
}

export function isItemDeleteCapable(driver: StoreDriver): driver is StoreDriver & ItemDeleteCapable {
  return typeof (driver as Partial<ItemDeleteCapable>).deleteItems === "function";
}

/**
 * Optional capability: a session's head (types.ts SessionHeadInfo) without its JSON columns.
 * Same visibility rule as `getSession`. Without it the core reads the whole session.
 */
export interface SessionHeadCapable {
  getSessionHead(tenant: string, id: string, now: number): Promise<SessionHeadInfo | null>;
}

export function hasSessionHead(driver: StoreDriver): driver is StoreDriver & SessionHeadCapable {
  return typeof (driver as Partial<SessionHeadCapable>).getSessionHead === "function";
}

export function isLifecycleCapable(driver: StoreDriver): driver is StoreDriver & LifecycleCapable {
  const d = driver as Partial<LifecycleCapable>;
  return typeof d.scanSessions === "function" && typeof d.purgeSessions === "function";
}

/** One tenant's stored totals (the storage gauges of src/observability). */
export interface StorageTotalsRow {
  tenant: string;
  /** Sessions visible at `now` with status `active`. */
  sessionsActive: number;
  /** `itemCount` summed over sessions not archived (archive stubs hold no items). */
  items: number;
  /** `bytes` summed over sessions not archived. */
  bytes: number;
}

/**
 * Optional capability: the per-tenant totals in one aggregate query, so the storage gauges need
 * not read every session into the process. Every tenant with a stored session has a row, visible
 * or not (expired sessions count until purged). Without it, the gauges compute the same from
 * `scanSessions`.
 */
export interface StorageTotalsCapable {
  storageTotals(now: number): Promise<StorageTotalsRow[]>;
}

export function hasStorageTotals(driver: StoreDriver): driver is StoreDriver & StorageTotalsCapable {
  return typeof (driver as Partial<StorageTotalsCapable>).storageTotals === "function";
}
