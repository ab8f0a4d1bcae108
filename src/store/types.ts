/**
 * The SessionStore contract: the data model of ARCHITECTURE.md and the operations every
 * driver supports. Every operation is scoped to a tenant; a session of another tenant is
 * indistinguishable from one that does not exist (`not_found`).
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Session statuses; `archived` sessions are readable but their items may live in cold storage. */
export const SESSION_STATUSES = ["active", "archived"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const LIST_ORDERS = ["desc", "asc"] as const;
export type ListOrder = (typeof LIST_ORDERS)[number];

/**
 * What a list is ordered by (then by id): creation time (default), last update, item count or
 * byte size. Every sort is keyset-paginated, so pages stay consistent whatever the store size.
 *
 * Paging while sessions are written: with `created` every session that exists throughout the
 * run is listed exactly once. `updated`, `items` and `bytes` change with writes, so a run over
 * them is a view as of its first page: the later pages leave out sessions updated since
 * (`updatedAt` past the first page's time). A session unchanged since the run began is listed
 * exactly once; one written meanwhile at most once (if a page before the write listed it) —
 * never twice, except when written within the very millisecond the first page was read, or
 * stamped by a writer whose clock is behind the lister's. Start a new run to see changes.
 */
export const LIST_SORTS = ["created", "updated", "items", "bytes"] as const;
export type ListSort = (typeof LIST_SORTS)[number];

export interface ForkParent {
  sessionId: string;
  atSeq: number;
}

export interface Session {
  /** `conv_` followed by 32 hex characters (128 random bits). */
  id: string;
  tenant: string;
  owner: string | null;
  /** At most 16 string pairs (OpenAI's limit for `metadata`). */
  metadata: Record<string, string>;
  labels: string[];
  state: JsonObject;
  /** Bumped by every mutation; the unit of optimistic concurrency. */
  version: number;
  /** Items stored now (deleted items are not counted). */
  itemCount: number;
  /**
   * Seq of the newest item ever appended: the next append starts at `lastSeq + 1`. Equals
   * `itemCount` until an item is deleted; deleted seqs are never reused (other items keep theirs).
   */
  lastSeq: number;
  tokenCount: number;
  bytes: number;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  lastActiveAt: number;
  /** Session disappears when `lastActiveAt + idleTtlMs <= now`. */
  idleTtlMs: number | null;
  /** Absolute expiry, epoch ms. */
  expiresAt: number | null;
  status: SessionStatus;
  pinned: boolean;
  forkParent: ForkParent | null;
}

export interface Item {
  /** 1-based position in the session, dense at append; a deleted item leaves its seq unused. */
  seq: number;
  id: string;
  type: string;
  role: string | null;
  status: string | null;
  /** The whole item in OpenAI Responses item shape (`{ type, role, content, … }`), without `id`. */
  content: JsonObject;
  tokens: number;
  bytes: number;
  turnId: string | null;
  createdAt: number;
}

/** What a caller appends: the item body, optionally with its id, token count and turn. */
export interface ItemInput {
  id?: string;
  /** The Responses item; must carry a string `type`. An `id` inside it is used when `id` is absent. */
  content: JsonObject;
  /** Token count; when absent the store's token counter computes it. */
  tokens?: number;
  turnId?: string;
}

export interface CreateSessionInput {
  id?: string;
  owner?: string | null;
  metadata?: Record<string, string>;
  labels?: string[];
  state?: JsonObject;
  idleTtlMs?: number | null;
  /** Absolute expiry (epoch ms), later than now: one already reached is `invalid_argument` (`expires_at`). */
  expiresAt?: number | null;
  pinned?: boolean;
  /** Initial items, appended atomically with the creation. */
  items?: ItemInput[];
}

export interface UpdateSessionInput {
  owner?: string | null;
  metadata?: Record<string, string>;
  labels?: string[];
  idleTtlMs?: number | null;
  /** Absolute expiry (epoch ms); one already reached expires the session at once (later reads: `not_found`). */
  expiresAt?: number | null;
  pinned?: boolean;
  status?: SessionStatus;
}

export interface ListQuery {
  owner?: string;
  label?: string;
  status?: SessionStatus;
  updatedBefore?: number;
  updatedAfter?: number;
  /** Only sessions created strictly before / after this instant (epoch ms). */
  createdBefore?: number;
  createdAfter?: number;
  /** Only sessions of at least / at most this many bytes (`Session.bytes`). */
  minBytes?: number;
  maxBytes?: number;
  /** Only the direct forks of this session (`forkParent.sessionId`). */
  forkOf?: string;
  /** The sort key (default `created`); ties are broken by id. See `LIST_SORTS` for paging while writes happen. */
  sort?: ListSort;
  /** `desc` (largest / newest first, default) or `asc`. */
  order?: ListOrder;
  /** 1..1000, default 20. */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface WriteOptions {
  /** The write fails with `conflict` unless the session is at this version. */
  expectedVersion?: number;
}

/**
 * A turn's exclusive claim on a session, taken and given up by the turn's own appends so it
 * costs no extra round trip. At most one holder's unexpired claim exists per session; appends
 * without a claim ignore claims (they are not turns). A claim is not session data: taking,
 * renewing or releasing one changes neither the version nor any timestamp.
 */
export interface TurnClaim {
  /** Who holds it (one turn): 1-255 printable ASCII characters. */
  holder: string;
  /** How long the claim lasts from this append, ms (1 to 86,400,000). */
  ttlMs: number;
  /** The turn's last append: give the claim up once it commits. */
  release?: boolean;
}

export interface AppendOptions extends WriteOptions {
  /** Retry key: the same id with the same items returns the first result and writes nothing. */
  operationId?: string;
  /**
   * Take (or keep) the session's turn claim with this append. Fails with 409
   * `conversation_busy`, writing nothing, while another holder's claim is unexpired; otherwise
   * the append (or its idempotent replay) commits with the claim held by `holder` until
   * now + ttlMs, or released when `release` is set.
   */
  claim?: TurnClaim;
}

export interface AppendResult {
  version: number;
  firstSeq: number;
  lastSeq: number;
  /** True when this call replayed an earlier append with the same operation id. */
  replayed: boolean;
  items: Item[];
}

export interface ReadItemsQuery {
  afterSeq?: number;
  beforeSeq?: number;
  /** 1..10000, default 100. */
  limit?: number;
  order?: ListOrder;
}

export interface WindowQuery {
  maxTokens: number;
  /**
   * Item types left out of the answer (e.g. bookkeeping items never sent to a model). The range
   * is still chosen by `maxTokens` over every item; excluded items only are not returned.
   * At most 16 types.
   */
  excludeTypes?: readonly string[];
}

export interface Window {
  items: Item[];
  tokens: number;
  /** Seq of the first item in the window (0 when empty). */
  fromSeq: number;
  /** True when older items were left out. */
  truncated: boolean;
  sessionVersion: number;
}

export interface ForkInput extends Omit<CreateSessionInput, "items"> {
  /** Copy history up to and including this seq; defaults to the whole history. */
  atSeq?: number;
}

/**
 * What identifies a session's current state, for validating a cached view of it (a window): any
 * write bumps `version`, and a session deleted and re-created under the same id has another
 * `createdAt`. Read without the JSON columns where the driver can.
 */
export type SessionHeadInfo = Pick<
  Session,
  "id" | "version" | "createdAt" | "itemCount" | "lastSeq" | "tokenCount" | "status"
>;

/**
 * Optional on a SessionStore (the core and the DelegatingStore decorators have it): the head of
 * a visible session, or `not_found` exactly like `get`. Never restores an archived session.
 */
export interface SessionHeadReadable {
  head(tenant: string, id: string): Promise<SessionHeadInfo>;
}

/** A session's head fields (what `head` answers), taken from the whole session. */
export function headOf(s: Session): SessionHeadInfo {
  return {
    id: s.id,
    version: s.version,
    createdAt: s.createdAt,
    itemCount: s.itemCount,
    lastSeq: s.lastSeq,
    tokenCount: s.tokenCount,
    status: s.status,
  };
}

export function canReadHead(store: SessionStore): store is SessionStore & SessionHeadReadable {
  return typeof (store as Partial<SessionHeadReadable>).head === "function";
}

/** The public contract every store (driver + core) satisfies. */
export interface SessionStore {
  readonly driverName: string;
  create(tenant: string, input?: CreateSessionInput): Promise<Session>;
  get(tenant: string, id: string): Promise<Session>;
  /**
   * Every visible session is listed (paging while writes happen: LIST_SORTS), one re-created
   * under the id of a session deleted at the same instant included.
   */
  list(tenant: string, query?: ListQuery): Promise<Page<Session>>;
  update(tenant: string, id: string, patch: UpdateSessionInput, options?: WriteOptions): Promise<Session>;
  delete(tenant: string, id: string, options?: WriteOptions): Promise<void>;
  /** `session_archived` (nothing written) while the session's status is `archived`. */
  append(tenant: string, id: string, items: ItemInput[], options?: AppendOptions): Promise<AppendResult>;
  /** JSON Merge Patch (RFC 7386) on the session's `state`. */
  patchState(tenant: string, id: string, patch: JsonValue, options?: WriteOptions): Promise<Session>;
  readItems(tenant: string, id: string, query?: ReadItemsQuery): Promise<Item[]>;
  getItem(tenant: string, id: string, itemId: string): Promise<Item>;
  /**
   * Deletes one item; other items keep their seqs. A function call and its outputs go
   * together (deleting either deletes the pair), so windows never hold half of one. Bumps the
   * version; `not_found` for an unknown item.
   */
  deleteItem(tenant: string, id: string, itemId: string, options?: WriteOptions): Promise<Session>;
  readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window>;
  fork(tenant: string, id: string, input?: ForkInput): Promise<Session>;
  /** Marks the session active now, pushing back its idle expiry. */
  touch(tenant: string, id: string): Promise<Session>;
  /**
   * Extends `holder`'s turn claim (see AppendOptions.claim) to now + ttlMs. False, changing
   * nothing, when `holder` no longer holds it (released, taken over after expiring, or the
   * session is gone).
   */
  renewClaim(tenant: string, id: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives up `holder`'s turn claim; nothing happens when it holds none or the session is gone. */
  releaseClaim(tenant: string, id: string, holder: string): Promise<void>;
  close(): Promise<void>;
}
