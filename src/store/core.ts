/**
 * The store core: turns a StoreDriver into the public SessionStore. Everything drivers have in
 * common lives here — validation, ids, token counting, payload hashes, cursors, JSON Merge
 * Patch and window pairing — so a driver is only storage. Inputs are never mutated and every
 * value returned is the driver's own fresh copy.
 */
import { appendArguments } from "./append-arguments.ts";
import { checkHolder, driverClaim } from "./claim-checks.ts";
import { deleteItemUnit } from "./delete-item.ts";
import { hasSessionHead, type PreparedItem, type StoreDriver } from "./driver.ts";
import { canonicalJson, encodeCursor } from "./encoding.ts";
import { InvalidArgumentError, sessionNotFound } from "./errors.ts";
import { newSessionId, sha256 } from "./ids.ts";
import { mergeStateWithRetry } from "./merge-patch.ts";
import { type PrepareOptions, prepareItems } from "./prepare-items.ts";
import { checkOrder, driverListQuery } from "./query-checks.ts";
import { estimateTokens, type TokenCounter } from "./tokens.ts";
import {
  type AppendOptions,
  type AppendResult,
  type CreateSessionInput,
  type ForkInput,
  headOf,
  type Item,
  type ItemInput,
  type JsonValue,
  type ListQuery,
  type Page,
  type ReadItemsQuery,
  type Session,
  type SessionHeadInfo,
  type SessionHeadReadable,
  type SessionStore,
  type UpdateSessionInput,
  type Window,
  type WindowQuery,
  type WriteOptions,
} from "./types.ts";
import {
  assertObject,
  checkExcludeTypes,
  checkFutureExpiry,
  checkItemId,
  checkJson,
  checkJsonObject,
  checkLabels,
  checkMetadata,
  checkOptionalTime,
  checkOwner,
  checkPositiveInt,
  checkSeq,
  checkSessionId,
  checkSize,
  checkStatus,
  checkTenant,
  checkVersion,
  LIMITS,
} from "./validate.ts";
import { pairSafeStart } from "./window-pairs.ts";

export interface StoreCoreOptions {
  /** Milliseconds since the epoch; injectable so tests control expiry. Default `Date.now`. */
  clock?: () => number;
  /**
   * Token count of one item when the caller gives none. Default: a byte-based estimate. A
   * fraction is rounded up; an answer that is not a number from 0 to 2^31 - 1 fails the write
   * with `internal`, writing nothing.
   */
  countTokens?: TokenCounter;
  /** Largest accepted item (serialized JSON bytes). Default 1 MiB. */
  maxItemBytes?: number;
  /** Largest accepted session state (serialized JSON bytes). Default 1 MiB. */
  maxStateBytes?: number;
  /** Retries of an internal read-merge-write (patchState without expectedVersion) on conflict. Default 20. */
  maxMergeRetries?: number;
}

const DEFAULTS = { maxItemBytes: LIMITS.itemBytes, maxStateBytes: LIMITS.stateBytes, maxMergeRetries: 20 };

class StoreCore implements SessionStore, SessionHeadReadable {
  readonly #driver: StoreDriver;
  readonly #clock: () => number;
  readonly #countTokens: TokenCounter;
  /** True when #countTokens is the default byte estimate, computed from the bytes in hand. */
  readonly #estimate: boolean;
  readonly #options: typeof DEFAULTS;

  constructor(driver: StoreDriver, options: StoreCoreOptions = {}) {
    this.#driver = driver;
    this.#clock = options.clock ?? Date.now;
    this.#countTokens = options.countTokens ?? estimateTokens;
    this.#estimate = this.#countTokens === estimateTokens;
    this.#options = Object.freeze({
      maxItemBytes: options.maxItemBytes ?? DEFAULTS.maxItemBytes,
      maxStateBytes: options.maxStateBytes ?? DEFAULTS.maxStateBytes,
      maxMergeRetries: options.maxMergeRetries ?? DEFAULTS.maxMergeRetries,
    });
  }

  get driverName(): string {
    return this.#driver.name;
  }

  /** The underlying driver, for decorators and tools that need capabilities beyond the contract. */
  get driver(): StoreDriver {
    return this.#driver;
  }

  #prepareOptions(): PrepareOptions {
    return {
      maxItemBytes: this.#options.maxItemBytes,
      countTokens: this.#estimate ? null : this.#countTokens,
    };
  }

  #prepareItems(items: unknown, now: number): PreparedItem[] {
    return prepareItems(items, now, this.#prepareOptions());
  }

  #newSession(tenant: string, input: CreateSessionInput, now: number): Session {
    assertObject(input, "Session input");
    const state = input.state === undefined ? {} : checkJsonObject(input.state, "state");
    checkSize(Buffer.byteLength(JSON.stringify(state)), this.#options.maxStateBytes, "state", "state");
    return {
      id: input.id === undefined ? newSessionId() : checkSessionId(input.id, "id"),
      tenant,
      owner: checkOwner(input.owner),
      metadata: input.metadata === undefined ? {} : checkMetadata(input.metadata),
      labels: input.labels === undefined ? [] : checkLabels(input.labels),
      state: structuredClone(state),
      version: 1,
      itemCount: 0,
      lastSeq: 0,
      tokenCount: 0,
      bytes: 0,
      createdAt: now,
      updatedAt: now,
      lastActiveAt: now,
      idleTtlMs: checkOptionalTime(input.idleTtlMs, "idleTtlMs"),
      expiresAt: checkFutureExpiry(input.expiresAt, now),
      status: "active",
      pinned: input.pinned === undefined ? false : Boolean(input.pinned),
      forkParent: null,
    };
  }

  async create(tenant: string, input: CreateSessionInput = {}): Promise<Session> {
    checkTenant(tenant);
    const now = this.#clock();
    const session = this.#newSession(tenant, input, now);
    const items = input.items === undefined ? [] : this.#prepareItems(input.items, now);
    return this.#driver.createSession(session, items);
  }

  async get(tenant: string, id: string): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    const session = await this.#driver.getSession(tenant, id, this.#clock());
    if (!session) throw sessionNotFound(id);
    return session;
  }

  async head(tenant: string, id: string): Promise<SessionHeadInfo> {
    checkTenant(tenant);
    checkSessionId(id);
    const now = this.#clock();
    const driver = this.#driver;
    if (hasSessionHead(driver)) {
      const head = await driver.getSessionHead(tenant, id, now);
      if (!head) throw sessionNotFound(id);
      return head;
    }
    const s = await driver.getSession(tenant, id, now);
    if (!s) throw sessionNotFound(id);
    return headOf(s);
  }

  async list(tenant: string, query: ListQuery = {}): Promise<Page<Session>> {
    checkTenant(tenant);
    const { sort, limit, asOf, driverQuery } = driverListQuery(query, this.#clock);
    const rows = await this.#driver.listSessions(tenant, driverQuery);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    return { data, nextCursor: rows.length > limit && last ? encodeCursor(last, sort, asOf) : null };
  }

  async update(
    tenant: string,
    id: string,
    patch: UpdateSessionInput,
    options: WriteOptions = {},
  ): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    assertObject(patch, "Update");
    const changes: UpdateSessionInput = {};
    if (patch.owner !== undefined) changes.owner = checkOwner(patch.owner);
    if (patch.metadata !== undefined) changes.metadata = checkMetadata(patch.metadata);
    if (patch.labels !== undefined) changes.labels = checkLabels(patch.labels);
    if (patch.idleTtlMs !== undefined) changes.idleTtlMs = checkOptionalTime(patch.idleTtlMs, "idleTtlMs");
    if (patch.expiresAt !== undefined) changes.expiresAt = checkOptionalTime(patch.expiresAt, "expiresAt");
    if (patch.pinned !== undefined) changes.pinned = Boolean(patch.pinned);
    if (patch.status !== undefined) changes.status = checkStatus(patch.status);
    return this.#driver.updateSession(tenant, id, changes, {
      expectedVersion: checkVersion(options.expectedVersion),
      now: this.#clock(),
    });
  }

  async delete(tenant: string, id: string, options: WriteOptions = {}): Promise<void> {
    checkTenant(tenant);
    checkSessionId(id);
    await this.#driver.deleteSession(tenant, id, {
      expectedVersion: checkVersion(options.expectedVersion),
      now: this.#clock(),
    });
  }

  async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    checkTenant(tenant);
    checkSessionId(id);
    const now = this.#clock();
    const args = appendArguments(items, options, now, this.#prepareOptions());
    return this.#driver.append(tenant, id, args.items, {
      expectedVersion: args.expectedVersion,
      operationId: args.operationId,
      payloadHash: args.operationId === undefined ? "" : sha256(canonicalJson(items)),
      now,
      ...(args.claim === undefined ? {} : { claim: args.claim }),
    });
  }

  async patchState(
    tenant: string,
    id: string,
    patch: JsonValue,
    options: WriteOptions = {},
  ): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    checkJson(patch, "state");
    return mergeStateWithRetry(
      id,
      patch,
      checkVersion(options.expectedVersion),
      this.#options.maxMergeRetries,
      {
        read: async () => {
          const session = await this.get(tenant, id);
          return { version: session.version, state: session.state, context: null };
        },
        write: (next, read) => {
          checkSize(Buffer.byteLength(JSON.stringify(next)), this.#options.maxStateBytes, "state", "state");
          return this.#driver.updateSession(
            tenant,
            id,
            { state: next },
            { expectedVersion: read.version, now: this.#clock() },
          );
        },
      },
    );
  }

  async readItems(tenant: string, id: string, query: ReadItemsQuery = {}): Promise<Item[]> {
    checkTenant(tenant);
    checkSessionId(id);
    assertObject(query, "Read query");
    const order = checkOrder(query.order, "asc");
    return this.#driver.readItems(
      tenant,
      id,
      {
        afterSeq: checkSeq(query.afterSeq, "afterSeq"),
        beforeSeq: checkSeq(query.beforeSeq, "beforeSeq"),
        limit: query.limit === undefined ? 100 : checkPositiveInt(query.limit, "limit", 10_000),
        order,
      },
      this.#clock(),
    );
  }

  async getItem(tenant: string, id: string, itemId: string): Promise<Item> {
    checkTenant(tenant);
    checkSessionId(id);
    checkItemId(itemId);
    return this.#driver.getItem(tenant, id, itemId, this.#clock());
  }

  async deleteItem(tenant: string, id: string, itemId: string, options: WriteOptions = {}): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    checkItemId(itemId);
    return deleteItemUnit(this.#driver, {
      tenant,
      id,
      itemId,
      expectedVersion: checkVersion(options.expectedVersion),
      now: this.#clock(),
      retries: this.#options.maxMergeRetries,
    });
  }

  async readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    checkTenant(tenant);
    checkSessionId(id);
    assertObject(query, "Window query");
    const maxTokens = query.maxTokens;
    if (typeof maxTokens !== "number" || !Number.isSafeInteger(maxTokens) || maxTokens < 0) {
      throw new InvalidArgumentError("maxTokens must be a non-negative integer.", { param: "max_tokens" });
    }
    const exclude = checkExcludeTypes(query.excludeTypes);
    const { session, items, startSeq } = await this.#driver.readWindow(
      tenant,
      id,
      maxTokens,
      this.#clock(),
      exclude.length > 0 ? exclude : undefined,
    );
    const start = pairSafeStart(items);
    const kept = start === 0 ? items : items.slice(start);
    let tokens = 0;
    for (const item of kept) tokens += item.tokens;
    const fromSeq = kept[0]?.seq ?? 0;
    return {
      items: kept,
      tokens,
      fromSeq,
      // Older items were left out when the range starts after seq 1 or pairing cut its head.
      truncated: start > 0 || (startSeq > 1 && session.itemCount > 0),
      sessionVersion: session.version,
    };
  }

  async fork(tenant: string, id: string, input: ForkInput = {}): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    assertObject(input, "Fork input");
    const now = this.#clock();
    const parent = await this.get(tenant, id);
    const atSeq = checkSeq(input.atSeq, "atSeq") ?? parent.lastSeq;
    if (atSeq > parent.lastSeq) {
      throw new InvalidArgumentError(
        `atSeq ${atSeq} is past the end of session '${id}' (last seq ${parent.lastSeq}).`,
        { param: "at_seq" },
      );
    }
    const child = this.#newSession(
      tenant,
      {
        id: input.id,
        owner: input.owner === undefined ? parent.owner : input.owner,
        metadata: input.metadata ?? parent.metadata,
        labels: input.labels ?? parent.labels,
        state: input.state ?? parent.state,
        idleTtlMs: input.idleTtlMs === undefined ? parent.idleTtlMs : input.idleTtlMs,
        expiresAt: input.expiresAt === undefined ? parent.expiresAt : input.expiresAt,
        pinned: input.pinned ?? false,
      },
      now,
    );
    child.forkParent = { sessionId: id, atSeq };
    return this.#driver.fork(tenant, id, atSeq, child, now);
  }

  async touch(tenant: string, id: string): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    return this.#driver.touch(tenant, id, this.#clock());
  }

  async renewClaim(tenant: string, id: string, holder: string, ttlMs: number): Promise<boolean> {
    checkTenant(tenant);
    checkSessionId(id);
    const now = this.#clock();
    const claim = driverClaim({ holder, ttlMs }, now);
    return this.#driver.renewClaim(tenant, id, claim.holder, claim.until, now);
  }

  async releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    checkTenant(tenant);
    checkSessionId(id);
    await this.#driver.releaseClaim(tenant, id, checkHolder(holder));
  }

  async close(): Promise<void> {
    await this.#driver.close();
  }
}

/** Wraps a driver into the public SessionStore. */
export function createSessionStore(driver: StoreDriver, options: StoreCoreOptions = {}): SessionStore {
  return new StoreCore(driver, options);
}
