/**
 * `withQuotas(store, options)`: a SessionStore decorator that rejects appends which would take
 * a session past its item, byte or token limit (tenant policy, or the session's `lifecycle.*`
 * metadata). Before rejecting it can call an injected compaction hook (e.g. the context
 * engine's compaction, or a fork-and-archive), then checks again.
 */

import { DelegatingStore } from "../store/decorators/delegating-store.ts";
import { ByteLru } from "../store/decorators/lru-bytes.ts";
import { HoldfastError } from "../store/errors.ts";
import { estimateTokens } from "../store/tokens.ts";
import type {
  AppendOptions,
  AppendResult,
  CreateSessionInput,
  ItemInput,
  Session,
  SessionStore,
  UpdateSessionInput,
  WriteOptions,
} from "../store/types.ts";
import { type LifecyclePolicy, sessionPolicy } from "./policy.ts";

/** Stable code `quota_exceeded`; the HTTP layer answers 413. */
export class QuotaExceededError extends HoldfastError {
  readonly limit: QuotaKind;
  constructor(message: string, limit: QuotaKind) {
    super("quota_exceeded", message, { param: "items" });
    this.limit = limit;
  }
}

export type QuotaKind = "items" | "bytes" | "tokens";

/** What an append would add to a session. */
export interface QuotaDelta {
  items: number;
  bytes: number;
  tokens: number;
}

/** A session's limits, resolved from the tenant policy and its metadata; null = no limit. */
export interface QuotaLimits {
  items: number | null;
  bytes: number | null;
  tokens: number | null;
}

/** What the compaction hook is given besides the session. */
export interface QuotaCompactContext {
  /**
   * The store under the quota check: the hook writes through it (the summary it appends, the
   * items it deletes). Through the decorated store its own append would be checked against the
   * very limit it is making room under, and refused or compacted again.
   */
  store: SessionStore;
  /** The session's limits. */
  limits: QuotaLimits;
}

export interface QuotaOptions {
  policy: LifecyclePolicy;
  /**
   * Called once when an append would exceed a limit, before rejecting it; it may shrink the
   * session (compaction, archiving old items). The limit is then checked again on a fresh read,
   * and the append refused if it is still over: the hook is never called twice for one append.
   * A string it answers (a sentence: what it did, or why it could not help) is added to the
   * refusal; any other answer is ignored.
   */
  compact?: (
    tenant: string,
    session: Session,
    over: QuotaKind,
    delta: QuotaDelta,
    context: QuotaCompactContext,
  ) => Promise<unknown>;
  /**
   * True for an append that belongs to a turn already admitted under the limits (in `holdfast
   * serve`: the summary its automatic compaction writes after its input was checked). Such an
   * append is written without a check, as a turn's final append is: refusing it would fail the
   * turn mid-way, its input stored unanswered and its summarizer calls paid for nothing.
   */
  admitted?: (tenant: string, sessionId: string) => boolean;
}

function deltaOf(items: readonly ItemInput[]): QuotaDelta {
  let bytes = 0;
  let tokens = 0;
  for (const item of items) {
    bytes += Buffer.byteLength(JSON.stringify(item.content));
    tokens += item.tokens ?? estimateTokens(item.content);
  }
  return { items: items.length, bytes, tokens };
}

const SETTING: Record<QuotaKind, string> = {
  items: "max_items_per_session (metadata lifecycle.max_items)",
  bytes: "max_bytes_per_session (metadata lifecycle.max_bytes)",
  tokens: "max_tokens_per_session (metadata lifecycle.max_tokens)",
};

/**
 * What the decorator knows of a session at `version`: its counters and limits. Exact while the
 * version chain holds: an append through here guarded by `expectedVersion: version` commits only
 * if nothing changed the session since (metadata, counters, deletion and re-creation included).
 */
interface Known {
  version: number;
  itemCount: number;
  bytes: number;
  tokenCount: number;
  limits: QuotaLimits;
}

/** Sessions remembered (LRU); one entry is a few hundred bytes. */
const KNOWN_SESSIONS = 10_000;
/** Guarded attempts before an append that keeps losing races falls back to check-then-append. */
const GUARDED_ATTEMPTS = 3;

function limitsOf(policy: LifecyclePolicy, session: Session): QuotaLimits {
  const p = sessionPolicy(policy, session);
  return { items: p.maxItemsPerSession, bytes: p.maxBytesPerSession, tokens: p.maxTokensPerSession };
}

/** Only the parts of the delta a limit applies to are computed (serializing items is not free). */
function breachOf(
  known: Known,
  items: readonly ItemInput[],
): { kind: QuotaKind; would: number; limit: number } | null {
  const { limits } = known;
  if (limits.items !== null && known.itemCount + items.length > limits.items) {
    return { kind: "items", would: known.itemCount + items.length, limit: limits.items };
  }
  if (limits.bytes === null && limits.tokens === null) return null;
  const delta = deltaOf(items);
  if (limits.bytes !== null && known.bytes + delta.bytes > limits.bytes) {
    return { kind: "bytes", would: known.bytes + delta.bytes, limit: limits.bytes };
  }
  if (limits.tokens !== null && known.tokenCount + delta.tokens > limits.tokens) {
    return { kind: "tokens", would: known.tokenCount + delta.tokens, limit: limits.tokens };
  }
  return null;
}

function isVersionConflict(error: unknown): boolean {
  return error instanceof HoldfastError && error.code === "conflict" && error.param === "expected_version";
}

class QuotaStore extends DelegatingStore {
  readonly #options: QuotaOptions;
  readonly #known = new ByteLru<Known>(KNOWN_SESSIONS);

  constructor(inner: SessionStore, options: QuotaOptions) {
    super(inner);
    this.#options = options;
  }

  /** `tried`: what the compaction hook said it did (it ran and the append is still over). */
  #reject(id: string, breach: { kind: QuotaKind; would: number; limit: number }, tried?: string): never {
    throw new QuotaExceededError(
      `Session '${id}' would hold ${breach.would} ${breach.kind}, over its limit of ${breach.limit} ` +
        `(${SETTING[breach.kind]}).${tried ? ` ${tried}` : ""} Start a new session, fork a shorter one, or raise the limit.`,
      breach.kind,
    );
  }

  override async create(tenant: string, input?: CreateSessionInput): Promise<Session> {
    if (input?.items && input.items.length > 0) {
      // What sessionPolicy reads of the session about to be created.
      const fresh = { tenant, metadata: input.metadata ?? {}, idleTtlMs: null };
      const limits = limitsOf(this.#options.policy, fresh as Session);
      const breach = breachOf({ version: 0, itemCount: 0, bytes: 0, tokenCount: 0, limits }, input.items);
      if (breach) this.#reject(input.id ?? "(new)", breach);
    }
    return this.#remember(tenant, await this.inner.create(tenant, input));
  }

  /**
   * A session passing through (created, read, updated) is what the session is at its version:
   * remembered, so its first append here needs no read either (the version guard still applies).
   */
  #remember(tenant: string, session: Session): Session {
    this.#known.set(`${tenant}\u0000${session.id}`, this.#knownOf(session), 1);
    return session;
  }

  override async get(tenant: string, id: string): Promise<Session> {
    return this.#remember(tenant, await this.inner.get(tenant, id));
  }

  override async update(
    tenant: string,
    id: string,
    patch: UpdateSessionInput,
    options?: WriteOptions,
  ): Promise<Session> {
    return this.#remember(tenant, await this.inner.update(tenant, id, patch, options));
  }

  #knownOf(session: Session): Known {
    return {
      version: session.version,
      itemCount: session.itemCount,
      bytes: session.bytes,
      tokenCount: session.tokenCount,
      limits: limitsOf(this.#options.policy, session),
    };
  }

  async #read(tenant: string, id: string): Promise<{ known: Known; session: Session }> {
    const session = await this.inner.get(tenant, id);
    return { known: this.#knownOf(session), session };
  }

  /**
   * What the append is checked against. A breach is only ever acted on after a fresh read (what
   * was remembered may be stale: another writer may have made room); then the compaction hook
   * runs once and the limit is checked again on another read. Answers the record and the version
   * it was checked at: the record is advanced in place by concurrent appends (see #advance), so
   * by the time this resolves its `version` may already be past what the check saw.
   */
  async #checked(
    tenant: string,
    id: string,
    known: Known | undefined,
    items: ItemInput[],
  ): Promise<{ known: Known; version: number }> {
    let breach = known ? breachOf(known, items) : null;
    let tried: string | undefined;
    if (!known || breach) {
      const fresh = await this.#read(tenant, id);
      known = fresh.known;
      breach = breachOf(known, items);
      if (breach && this.#options.compact) {
        const context = { store: this.inner, limits: known.limits };
        const said = await this.#options.compact(tenant, fresh.session, breach.kind, deltaOf(items), context);
        if (typeof said === "string" && said !== "") tried = said;
        known = (await this.#read(tenant, id)).known;
        breach = breachOf(known, items);
      }
    }
    if (breach) this.#reject(id, breach, tried);
    return { known, version: known.version };
  }

  /**
   * Checks against what is known of the session (one `get` only when nothing is), then appends
   * guarded by that version: the check and the append are one atomic step, and a session changed
   * meanwhile (another writer, a metadata override, a restore) fails the guard and is read again.
   * The caller's own `expectedVersion` is kept; a caller that gave none never sees the guard's
   * conflicts (after GUARDED_ATTEMPTS lost races the append goes unguarded, as a plain
   * check-then-append).
   */
  override async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const key = `${tenant}\u0000${id}`;
    const expected = options?.expectedVersion;
    let known = this.#known.get(key);
    if (options?.claim?.release === true || this.#options.admitted?.(tenant, id) === true) {
      return this.#unchecked(tenant, id, items, options, key, known);
    }
    for (let attempt = 1; ; attempt++) {
      if (expected !== undefined && known?.version !== expected) known = undefined;
      const checked = await this.#checked(tenant, id, known, items);
      known = checked.known;
      const guarded = expected === undefined && attempt <= GUARDED_ATTEMPTS;
      let result: AppendResult;
      try {
        // Guarded by the version the check saw, never by the record's current one.
        result = await this.inner.append(
          tenant,
          id,
          items,
          guarded ? { ...options, expectedVersion: checked.version } : options,
        );
      } catch (error) {
        this.#known.delete(key);
        if (!guarded || !isVersionConflict(error)) throw error;
        known = undefined;
        continue;
      }
      this.#advance(key, known, checked.version, result);
      return result;
    }
  }

  /**
   * A turn's final append (its answer and response record, releasing the claim its input append
   * took) is never refused: the input was admitted under the limits and the model has answered
   * and been paid. Refusing it left the input unanswered in the conversation (and, when even the
   * record-only commit did not fit, no record of the turn at all). Nor is an append the caller
   * vouches for as part of an admitted turn (`admitted`: its compaction's summary). The session
   * may end a summary and an answer over a limit; the next turn's input append is checked (and
   * compacted for) before anything is written or sent.
   */
  async #unchecked(
    tenant: string,
    id: string,
    items: ItemInput[],
    options: AppendOptions | undefined,
    key: string,
    known: Known | undefined,
  ): Promise<AppendResult> {
    const version = known?.version;
    let result: AppendResult;
    try {
      result = await this.inner.append(tenant, id, items, options);
    } catch (error) {
      this.#known.delete(key);
      throw error;
    }
    if (known && version !== undefined) this.#advance(key, known, version, result);
    else this.#known.delete(key);
    return result;
  }

  override async delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    this.#known.delete(`${tenant}\u0000${id}`);
    return this.inner.delete(tenant, id, options);
  }

  /**
   * Moves what is known along with an append that followed it directly; forgets it otherwise.
   * In place: this runs twice per turn for every active session, and a new record each time
   * would be promoted and then die in the old generation (see lru-bytes.ts). A concurrent append
   * checked against the same record is guarded by the version its check saw (#checked), so moving
   * the record under it cannot let it past a limit; one that checks it afterwards sees exactly the
   * state this append produced. Only a record still at the version this append was checked at is
   * advanced; one another append moved meanwhile is forgotten.
   */
  #advance(key: string, known: Known, checkedVersion: number, result: AppendResult): void {
    if (result.replayed || known.version !== checkedVersion || result.version !== checkedVersion + 1) {
      this.#known.delete(key);
      return;
    }
    let bytes = known.bytes;
    let tokens = known.tokenCount;
    for (const item of result.items) {
      bytes += item.bytes;
      tokens += item.tokens;
    }
    known.version = result.version;
    known.itemCount += result.items.length;
    known.bytes = bytes;
    known.tokenCount = tokens;
    this.#known.set(key, known, 1);
  }
}

/** Wraps `store` so appends over a session's limits fail with `quota_exceeded`. */
export function withQuotas(store: SessionStore, options: QuotaOptions): SessionStore {
  return new QuotaStore(store, Object.freeze({ ...options }));
}
