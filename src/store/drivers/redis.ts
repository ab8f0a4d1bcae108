/**
 * `redis://…`, `rediss://…` and `redis+cluster://…` — sessions in Redis or Redis Cluster.
 * Every session's keys share one hash slot and every mutation is one Lua script
 * (redis-scripts.ts), so a write commits completely or not at all, on Cluster too. Listing
 * goes through a per-tenant index (redis-list.ts). docs/store-redis.md has the layout and
 * its consistency guarantees.
 */

import type {
  DriverAppend,
  DriverListQuery,
  DriverReadQuery,
  DriverWindow,
  DriverWrite,
  ItemDeleteCapable,
  LifecycleCapable,
  LifecycleScanQuery,
  PreparedItem,
  PurgeResult,
  PurgeTarget,
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
import { AppendBatcher } from "./redis-append-batch.ts";
import {
  changeFields,
  decodeSession,
  type ItemCodec,
  itemCodec,
  pairsToRecord,
  type Raw,
  sessionFields,
} from "./redis-codec.ts";
import {
  connectRedis,
  type RedisClient,
  type RedisConfig,
  type RedisDriverOptions,
  resolveRedisConfig,
  toStoreError,
} from "./redis-connect.ts";
import { type SessionKeys, sessionKeys } from "./redis-keys.ts";
import { createRedisLifecycle } from "./redis-lifecycle.ts";
import {
  LEASE_SCRIPTS,
  type LeaseScriptName,
  LIFECYCLE_SCRIPTS,
  type LifecycleScriptName,
} from "./redis-lifecycle-scripts.ts";
import { addToIndex, type ListContext, listTenantSessions, removeFromIndex } from "./redis-list.ts";
import {
  type Arg,
  appendedItems,
  appendReplica,
  COPY_BUILD_TTL_MS,
  COPY_CHUNK,
  fillCopy,
  finishCopy,
  GAP_ARGS,
  itemArgs,
  putReplica,
  type ReplicaAppend,
  type Reply,
  type ScriptRunner,
} from "./redis-replica.ts";
import {
  APPEND_BATCH_SCRIPT,
  APPEND_CLAIMED_BATCH_SCRIPT,
  SCRIPT_KEY_COUNT,
  SCRIPTS,
  type ScriptName,
} from "./redis-scripts.ts";
import { isVisible, sessionBytes } from "./shared.ts";

export type { RedisDriverOptions } from "./redis-connect.ts";

export const DRIVER_NAME = "redis";

class RedisDriver implements StoreDriver, ReplicaTarget, LifecycleCapable, ItemDeleteCapable {
  readonly name = DRIVER_NAME;
  /** Redis drops an expired session's keys this long after its deadline (lifecycle start-up notice). */
  readonly nativeExpiryGraceMs: number;
  readonly #client: RedisClient;
  readonly #config: RedisConfig;
  readonly #codec: ItemCodec;
  readonly #list: ListContext;
  readonly #copy: ScriptRunner;
  /** Standalone Redis with auto-pipelining: a tick's appends in batch-script calls of up to 8. */
  readonly #batcher: AppendBatcher | null;
  readonly #lifecycle: LifecycleCapable;
  /** Latest `now` the core passed in: putReplica gets none but must set expiry relative to it. */
  #lastNow = 0;

  constructor(client: RedisClient, config: RedisConfig) {
    this.#client = client;
    this.#config = config;
    this.nativeExpiryGraceMs = config.expiryGraceMs;
    this.#codec = itemCodec(config.encoding);
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: SCRIPT_KEY_COUNT, lua });
    }
    client.defineCommand("hfAppendBatch", { lua: APPEND_BATCH_SCRIPT });
    client.defineCommand("hfAppendClaimedBatch", { lua: APPEND_CLAIMED_BATCH_SCRIPT });
    for (const [name, lua] of Object.entries(LIFECYCLE_SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: SCRIPT_KEY_COUNT, lua });
    }
    for (const [name, lua] of Object.entries(LEASE_SCRIPTS))
      client.defineCommand(name, { numberOfKeys: 1, lua });
    this.#batcher =
      config.cluster || !config.autoPipelining
        ? null
        : new AppendBatcher({
            one: (keys, args, claim) =>
              claim
                ? this.#run("hfAppendClaimed", keys, [...claim, ...args])
                : this.#run("hfAppend", keys, args),
            many: (keys, args) => this.#runBatch("hfAppendBatch", keys, args),
            manyClaimed: (keys, args) => this.#runBatch("hfAppendClaimedBatch", keys, args),
          });
    this.#copy = {
      run: (name, keys, args) => this.#run(name, keys, args),
      keys: (tenant, id) => this.#keys(tenant, id),
      codec: this.#codec,
      expiryGraceMs: config.expiryGraceMs,
    };
    this.#list = {
      client,
      prefix: config.prefix,
      indexRepairGraceMs: config.indexRepairGraceMs,
      readSession: (tenant, id) => this.#readSession(tenant, id),
      knownTenants: new Set(),
    };
    this.#lifecycle = createRedisLifecycle({
      client,
      prefix: config.prefix,
      codec: this.#codec,
      expiryGraceMs: config.expiryGraceMs,
      indexRepairGraceMs: config.indexRepairGraceMs,
      list: this.#list,
      keys: (tenant, id) => this.#keys(tenant, id),
      run: (name, keys, args) => this.#runLifecycle(name, keys, args),
      lastNow: () => this.#lastNow,
    });
  }

  /** Lifecycle and lease scripts reply with statuses and session fields only: plain strings. */
  async #runLifecycle(
    name: LifecycleScriptName | LeaseScriptName,
    keys: string[],
    args: Arg[],
  ): Promise<Reply> {
    const fns = this.#client as unknown as Record<string, (...args: (Arg | Arg[])[]) => Promise<Reply>>;
    return fns[name]!.call(this.#client, ...keys, args);
  }

  #keys(tenant: string, id: string): SessionKeys {
    return sessionKeys(this.#config.prefix, tenant, id);
  }

  /** Runs one script; binary encodings read replies as Buffers (ioredis' `…Buffer` variant). */
  async #run(name: ScriptName, keys: SessionKeys, args: Arg[]): Promise<Reply> {
    const fns = this.#client as unknown as Record<string, (...args: (Arg | Arg[])[]) => Promise<Reply>>;
    const fn = fns[this.#codec.binary ? `${name}Buffer` : name]!;
    // One array argument (ioredis flattens it): a fork copies up to 4 args per item, past the
    // engine's limit on spread call arguments.
    return fn.call(this.#client, ...keys, args);
  }

  /** The batched append script: its key count leads the arguments (5 per append). */
  async #runBatch(
    name: "hfAppendBatch" | "hfAppendClaimedBatch",
    keys: string[],
    args: Arg[],
  ): Promise<Reply[]> {
    const fns = this.#client as unknown as Record<string, (...args: (Arg | Arg[])[]) => Promise<Reply[]>>;
    const fn = fns[this.#codec.binary ? `${name}Buffer` : name]!;
    return fn.call(this.#client, keys.length, ...keys, args);
  }

  /** Maps the script statuses every mutation shares; returns the reply when it is a success. */
  #check(reply: Reply, id: string, expected?: number): Reply {
    const status = String(reply[0]);
    if (status === "nf") throw sessionNotFound(id);
    if (status === "ver") throw versionConflict(id, expected ?? 0, Number(reply[1]));
    return reply;
  }

  /** One HGETALL; a replica past its `retainUntil` (at `now`) reads as missing. */
  async #readSession(tenant: string, id: string, now?: number): Promise<Session | null> {
    const fields = await this.#client.hgetall(this.#keys(tenant, id)[0]);
    if (now !== undefined && Number(fields.retainUntil) <= now) return null;
    return decodeSession(fields);
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toStoreError(error);
    }
  }

  createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    return this.#guard(() => this.#createSession(session, items));
  }

  /** Index entry first, then the session in one script (see redis-list.ts for why this order). */
  async #create(session: Session, itemPart: Arg[], mode: "create" | "fork" | number): Promise<void> {
    const fields = sessionFields(session);
    await addToIndex(this.#list, session);
    const reply = await this.#run("hfCreate", this.#keys(session.tenant, session.id), [
      session.createdAt,
      this.#config.expiryGraceMs,
      mode,
      fields.length,
      ...fields,
      ...itemPart,
    ]);
    if (String(reply[0]) === "exists") {
      // Our index entry only names the existing session if it has the same creation time.
      if (Number(String(reply[1])) !== session.createdAt) {
        await removeFromIndex(this.#list, session.tenant, session.id, session.createdAt);
      }
      throw new ConflictError(`A session with id '${session.id}' already exists.`, { param: "id" });
    }
  }

  /** The session as created: the core's fresh object with counters over `items`. */
  #created(
    session: Session,
    items: readonly { tokens: number; bytes: number }[],
    version: number,
    lastSeq: number,
  ): Session {
    let tokens = 0;
    let bytes = 0;
    for (const p of items) {
      tokens += p.tokens;
      bytes += p.bytes;
    }
    const created = structuredClone(session);
    created.version = version;
    created.itemCount = items.length;
    created.lastSeq = lastSeq;
    created.tokenCount = tokens;
    created.bytes = sessionBytes(bytes, JSON.stringify(session.state));
    return created;
  }

  async #createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    await this.#create(session, itemArgs(this.#codec, items), "create");
    return this.#created(session, items, items.length > 0 ? 2 : 1, items.length);
  }

  getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    return this.#guard(async () => {
      this.#seen(now);
      const session = await this.#readSession(tenant, id, now);
      return session && isVisible(session, now) ? session : null;
    });
  }

  listSessions(tenant: string, query: DriverListQuery): Promise<Session[]> {
    return this.#guard(() => listTenantSessions(this.#list, tenant, query));
  }

  updateSession(tenant: string, id: string, changes: SessionChanges, write: DriverWrite): Promise<Session> {
    return this.#guard(async () => {
      const reply = this.#check(
        await this.#run("hfUpdate", this.#keys(tenant, id), [
          write.now,
          this.#config.expiryGraceMs,
          write.expectedVersion ?? "",
          ...changeFields(changes),
        ]),
        id,
        write.expectedVersion,
      );
      return decodeSession(pairsToRecord(reply[1] as Raw[]))!;
    });
  }

  deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void> {
    return this.#guard(async () => {
      const reply = this.#check(
        await this.#run("hfDelete", this.#keys(tenant, id), [write.now, write.expectedVersion ?? ""]),
        id,
        write.expectedVersion,
      );
      await removeFromIndex(this.#list, tenant, id, Number(String(reply[1])));
    });
  }

  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult> {
    return this.#guard(async () => {
      const keys = this.#keys(tenant, id);
      const args = [
        options.now,
        this.#config.expiryGraceMs,
        options.expectedVersion ?? "",
        options.operationId ?? "",
        options.payloadHash,
        ...itemArgs(this.#codec, items),
      ];
      const c = options.claim;
      // A turn's first and last appends carry its claim (hfAppendClaimed, or in a batch).
      const claim = c ? [c.holder, c.until, c.release ? "1" : ""] : null;
      const sent = this.#batcher
        ? this.#batcher.submit(keys, args, claim)
        : claim
          ? this.#run("hfAppendClaimed", keys, [...claim, ...args])
          : this.#run("hfAppend", keys, args);
      const reply = this.#check(await sent, id, options.expectedVersion);
      const status = String(reply[0]);
      if (status === "busy") throw conversationBusy(id);
      if (status === "idem") {
        throw new ConflictError(
          `Operation id '${options.operationId}' was already used with a different payload.`,
          { param: "operation_id", code: "idempotency_conflict" },
        );
      }
      if (status === "dup") {
        throw new ConflictError(`Item id '${String(reply[1])}' already exists in session '${id}'.`, {
          param: "items.id",
        });
      }
      const version = Number(reply[1]);
      const firstSeq = Number(reply[2]);
      if (status === "replay") {
        const raws = reply[3] as Raw[];
        const replayed = this.#decodeItems(raws, firstSeq);
        const lastSeq = firstSeq + raws.length - 1;
        return { version, firstSeq, lastSeq, replayed: true, items: replayed };
      }
      const lastSeq = Number(reply[3]);
      return { version, firstSeq, lastSeq, replayed: false, items: appendedItems(items, firstSeq) };
    });
  }

  /** One raw slot per seq from `firstSeq`; an empty slot is a deleted item and is skipped. */
  #decodeItems(raws: Raw[], firstSeq: number): Item[] {
    const items: Item[] = [];
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i]!;
      if (raw.length > 0) items.push(this.#codec.decode(raw, firstSeq + i));
    }
    return items;
  }

  deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session> {
    return this.#guard(async () => {
      const reply = this.#check(
        await this.#run("hfDeleteItems", this.#keys(tenant, id), [
          write.now,
          this.#config.expiryGraceMs,
          write.expectedVersion ?? "",
          itemIds.length,
          ...itemIds,
        ]),
        id,
        write.expectedVersion,
      );
      if (String(reply[0]) === "nif") {
        throw new NotFoundError(`No item '${String(reply[1])}' in session '${id}'.`, { param: "item_id" });
      }
      return decodeSession(pairsToRecord(reply[1] as Raw[]))!;
    });
  }

  readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]> {
    return this.#guard(async () => {
      this.#seen(now);
      const reply = this.#check(
        await this.#run("hfReadItems", this.#keys(tenant, id), [
          now,
          query.afterSeq ?? 0,
          query.beforeSeq ?? "",
          query.limit,
          query.order,
        ]),
        id,
      );
      const items = this.#decodeItems(reply[2] as Raw[], Number(reply[1]));
      return query.order === "desc" ? items.reverse() : items;
    });
  }

  getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item> {
    return this.#guard(async () => {
      this.#seen(now);
      const reply = this.#check(await this.#run("hfGetItem", this.#keys(tenant, id), [now, itemId]), id);
      if (String(reply[0]) === "nif" || reply[2] === null) {
        throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
      }
      return this.#codec.decode(reply[2] as Raw, Number(reply[1]));
    });
  }

  readWindow(
    tenant: string,
    id: string,
    maxTokens: number,
    now: number,
    excludeTypes?: readonly string[],
  ): Promise<DriverWindow> {
    return this.#guard(async () => {
      this.#seen(now);
      const reply = this.#check(await this.#run("hfWindow", this.#keys(tenant, id), [now, maxTokens]), id);
      const session = decodeSession(pairsToRecord(reply[2] as Raw[]))!;
      const startSeq = Number(reply[1]);
      const items = this.#decodeItems(reply[3] as Raw[], startSeq);
      // Excluded types are filtered after decoding here (the SQLite driver skips them in SQL).
      const kept = excludeTypes ? items.filter((item) => !excludeTypes.includes(item.type)) : items;
      return { session, startSeq, items: kept };
    });
  }

  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    return this.#guard(async () => {
      const parentKeys = this.#keys(tenant, parentId);
      const childKeys = this.#keys(tenant, child.id);
      const sizes: { tokens: number; bytes: number }[] = [];
      // The parent's slot and the child's differ on a Cluster, so the copy cannot be one script.
      // Small histories: one read, one create. Long ones: chunks into a hidden child (expiring on
      // its own if this process dies mid-way), made visible by one last script.
      for (let from = 1; from <= Math.max(atSeq, 1); from += COPY_CHUNK) {
        const to = Math.min(atSeq, from + COPY_CHUNK - 1);
        const reply = this.#check(await this.#run("hfForkRead", parentKeys, [now, from, to]), parentId);
        if (String(reply[0]) === "short") {
          throw new ConflictError(`Session '${parentId}' has fewer than ${atSeq} items.`, {
            param: "at_seq",
          });
        }
        const raws = reply[1] as Raw[];
        const args: Arg[] = [raws.length];
        raws.forEach((raw, i) => {
          // A deleted item's slot is copied as a gap, so the child keeps the parent's seqs.
          if (raw.length === 0) {
            args.push(...GAP_ARGS);
            return;
          }
          const item = this.#codec.decode(raw, from + i);
          args.push(item.id, item.tokens, item.bytes, raw);
          sizes.push(item);
        });
        if (from === 1) await this.#create(child, args, atSeq <= COPY_CHUNK ? "fork" : COPY_BUILD_TTL_MS);
        else await fillCopy(this.#copy, childKeys, args, "A fork");
      }
      if (atSeq > COPY_CHUNK) {
        await finishCopy(this.#copy, childKeys, now, "A fork");
        // A long copy may outlast the index repair grace; the entry is re-added when it is done.
        await addToIndex(this.#list, child);
      }
      return this.#created(child, sizes, 1, atSeq);
    });
  }

  #seen(now: number): void {
    if (now > this.#lastNow) this.#lastNow = now;
  }

  /** Replaces any copy with an exact replica; long histories are built hidden, chunk by chunk. */
  putReplica(session: Session, items: Item[], retainUntil: number | null): Promise<void> {
    return this.#guard(() =>
      putReplica(this.#copy, session, items, retainUntil, this.#lastNow || Date.now()),
    );
  }

  appendReplica(tenant: string, id: string, change: ReplicaAppend): Promise<boolean> {
    this.#seen(change.now);
    return this.#guard(() => appendReplica(this.#copy, this.#keys(tenant, id), change));
  }

  dropReplica(tenant: string, id: string): Promise<void> {
    return this.#guard(async () => {
      await this.#client.del(...this.#keys(tenant, id));
    });
  }

  touch(tenant: string, id: string, now: number): Promise<Session> {
    return this.#guard(async () => {
      const reply = this.#check(
        await this.#run("hfTouch", this.#keys(tenant, id), [now, this.#config.expiryGraceMs]),
        id,
      );
      return decodeSession(pairsToRecord(reply[1] as Raw[]))!;
    });
  }

  // LifecycleCapable (redis-lifecycle.ts): the sweeper's scans, purges, archive stubs and lease.

  scanSessions(query: LifecycleScanQuery): Promise<Session[]> {
    if (query.expiredAt !== undefined) this.#seen(query.expiredAt);
    return this.#guard(() => this.#lifecycle.scanSessions(query));
  }
  scanItems(tenant: string, id: string, afterSeq: number, limit: number): Promise<Item[]> {
    return this.#guard(() => this.#lifecycle.scanItems(tenant, id, afterSeq, limit));
  }
  purgeSessions(targets: PurgeTarget[]): Promise<PurgeResult> {
    return this.#guard(() => this.#lifecycle.purgeSessions(targets));
  }
  archiveStub(tenant: string, id: string, change: { version: number; now: number }): Promise<Session | null> {
    this.#seen(change.now);
    return this.#guard(() => this.#lifecycle.archiveStub(tenant, id, change));
  }
  restoreItems(
    tenant: string,
    id: string,
    change: { version: number; items: Item[]; idleTtlMs: number | null; now: number },
  ): Promise<Session | null> {
    this.#seen(change.now);
    return this.#guard(() => this.#lifecycle.restoreItems(tenant, id, change));
  }
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    this.#seen(now);
    return this.#guard(() => this.#lifecycle.acquireLease(name, holder, ttlMs, now));
  }
  renewLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    this.#seen(now);
    return this.#guard(() => this.#lifecycle.renewLease(name, holder, ttlMs, now));
  }
  releaseLease(name: string, holder: string): Promise<void> {
    return this.#guard(() => this.#lifecycle.releaseLease(name, holder));
  }

  renewClaim(tenant: string, id: string, holder: string, until: number, now: number): Promise<boolean> {
    return this.#guard(
      async () => Number(await this.#run("hfClaimRenew", this.#keys(tenant, id), [now, holder, until])) === 1,
    );
  }

  releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    return this.#guard(async () => {
      await this.#run("hfClaimRelease", this.#keys(tenant, id), [holder]);
    });
  }

  async close(): Promise<void> {
    // Commands issued in this tick (appends waiting for their batch, auto-pipelined scripts)
    // are written on the next tick; QUIT is not pipelined and would overtake them.
    this.#batcher?.flush();
    await new Promise((resolve) => setImmediate(resolve));
    try {
      await this.#client.quit();
    } catch {
      // Already disconnected: nothing left to release.
      this.#client.disconnect();
    }
  }
}

/** Connects to Redis (or a Redis Cluster) and returns the driver; fails at once with a clear message. */
export async function createRedisDriver(options: RedisDriverOptions): Promise<StoreDriver> {
  const config = resolveRedisConfig(options);
  const client = await connectRedis(config);
  return new RedisDriver(client, config);
}
