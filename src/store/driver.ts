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
import type { AppendResult, Item, JsonObject, ListOrder, Session, SessionStatus } from "./types.ts";

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

export interface DriverAppend {
  expectedVersion?: number;
  operationId?: string;
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
  order: ListOrder;
  /** Rows to return (the core asks one more than the page size to know if there is a next page). */
  limit: number;
  /** Keyset position: return sessions strictly after it in `order` by (createdAt, id). */
  after?: { createdAt: number; id: string };
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

export interface DriverWindow {
  session: Session;
  /** Items from the first seq whose suffix token sum fits `maxTokens`, ascending. */
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
  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult>;
  readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]>;
  getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item>;
  readWindow(tenant: string, id: string, maxTokens: number, now: number): Promise<DriverWindow>;
  /** Creates `child` holding copies of the parent's items 1..atSeq. */
  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session>;
  /** Sets `lastActiveAt = now` without bumping the version. */
  touch(tenant: string, id: string, now: number): Promise<Session>;
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
