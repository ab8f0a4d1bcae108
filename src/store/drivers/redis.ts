/**
 * `redis://…`, `rediss://…` and `redis+cluster://…` — sessions in Redis or Redis Cluster.
 * Every session's keys share one hash slot and every mutation is one Lua script
 * (redis-scripts.ts), so a write commits completely or not at all, on Cluster too. Listing
 * goes through a per-tenant index (redis-list.ts). docs/store-redis.md has the layout and
 * its consistency guarantees. This class wires the store contract to the operation modules:
 * redis-create.ts, redis-append.ts, redis-session-writes.ts, redis-item-reads.ts,
 * redis-replica.ts and redis-lifecycle.ts.
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
  SessionHeadCapable,
  StoreDriver,
} from "../driver.ts";
import type { AppendResult, Item, Session, SessionHeadInfo } from "../types.ts";
import { type AppendSender, appendItems } from "./redis-append.ts";
import { AppendBatcher } from "./redis-append-batch.ts";
import { decodeHead, decodeSession, HEAD_FIELDS, itemCodec } from "./redis-codec.ts";
import {
  connectRedis,
  type RedisClient,
  type RedisConfig,
  type RedisDriverOptions,
  resolveRedisConfig,
  toStoreError,
} from "./redis-connect.ts";
import { createSession, forkSession } from "./redis-create.ts";
import { getItem, readItems, readWindow } from "./redis-item-reads.ts";
import { type SessionKeys, sessionKeys } from "./redis-keys.ts";
import { createRedisLifecycle } from "./redis-lifecycle.ts";
import { listTenantSessions } from "./redis-list.ts";
import { appendReplica, putReplica, type ReplicaAppend } from "./redis-replica.ts";
import { defineDriverScripts, type OpsContext, ScriptCalls } from "./redis-script-calls.ts";
import { deleteItems, deleteSession, touch, updateSession } from "./redis-session-writes.ts";
import { isVisible } from "./shared.ts";

export type { RedisDriverOptions } from "./redis-connect.ts";

export const DRIVER_NAME = "redis";

class RedisDriver
  implements StoreDriver, ReplicaTarget, LifecycleCapable, ItemDeleteCapable, SessionHeadCapable
{
  readonly name = DRIVER_NAME;
  /** Redis drops an expired session's keys this long after its deadline (lifecycle start-up notice). */
  readonly nativeExpiryGraceMs: number;
  readonly #client: RedisClient;
  /** Scripts, keys, codec and list index: what every operation module is handed. */
  readonly #ops: OpsContext;
  /** One append: through the batcher (standalone Redis with auto-pipelining) or its own script call. */
  readonly #sendAppend: AppendSender;
  /** Standalone Redis with auto-pipelining: a tick's appends in batch-script calls of up to 8. */
  readonly #batcher: AppendBatcher | null;
  readonly #lifecycle: LifecycleCapable;
  /** Latest `now` the core passed in: putReplica gets none but must set expiry relative to it. */
  #lastNow = 0;

  constructor(client: RedisClient, config: RedisConfig) {
    this.#client = client;
    this.nativeExpiryGraceMs = config.expiryGraceMs;
    const codec = itemCodec(config.encoding);
    defineDriverScripts(client);
    const calls = new ScriptCalls(client, codec.binary);
    const sendOne: AppendSender = (keys, args, claim) =>
      claim ? calls.run("hfAppendClaimed", keys, [...claim, ...args]) : calls.run("hfAppend", keys, args);
    this.#batcher =
      config.cluster || !config.autoPipelining
        ? null
        : new AppendBatcher({
            one: sendOne,
            many: (keys, args) => calls.runBatch("hfAppendBatch", keys, args),
            manyClaimed: (keys, args) => calls.runBatch("hfAppendClaimedBatch", keys, args),
          });
    const batcher = this.#batcher;
    this.#sendAppend = batcher ? (keys, args, claim) => batcher.submit(keys, args, claim) : sendOne;
    const keys = (tenant: string, id: string): SessionKeys => sessionKeys(config.prefix, tenant, id);
    const list = {
      client,
      prefix: config.prefix,
      indexRepairGraceMs: config.indexRepairGraceMs,
      readSession: (tenant: string, id: string) => this.#readSession(tenant, id),
      knownTenants: new Set<string>(),
    };
    this.#ops = {
      run: (name, k, args) => calls.run(name, k, args),
      keys,
      codec,
      expiryGraceMs: config.expiryGraceMs,
      list,
    };
    this.#lifecycle = createRedisLifecycle({
      client,
      prefix: config.prefix,
      codec,
      expiryGraceMs: config.expiryGraceMs,
      indexRepairGraceMs: config.indexRepairGraceMs,
      list,
      keys,
      run: (name, k, args) => calls.runLifecycle(name, k, args),
      lastNow: () => this.#lastNow,
    });
  }

  /** One HGETALL; a replica past its `retainUntil` (at `now`) reads as missing. */
  async #readSession(tenant: string, id: string, now?: number): Promise<Session | null> {
    const fields = await this.#client.hgetall(this.#ops.keys(tenant, id)[0]);
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
    return this.#guard(() => createSession(this.#ops, session, items));
  }

  getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    return this.#guard(async () => {
      this.#seen(now);
      const session = await this.#readSession(tenant, id, now);
      return session && isVisible(session, now) ? session : null;
    });
  }

  /**
   * SessionHeadCapable: one HMGET of the fields a cache validates a session by (an encrypted
   * window read asks for it every turn), instead of the whole hash and its JSON fields.
   */
  getSessionHead(tenant: string, id: string, now: number): Promise<SessionHeadInfo | null> {
    return this.#guard(async () => {
      this.#seen(now);
      const values = await this.#client.hmget(this.#ops.keys(tenant, id)[0], ...HEAD_FIELDS);
      return decodeHead(values, now);
    });
  }

  listSessions(tenant: string, query: DriverListQuery): Promise<Session[]> {
    return this.#guard(() => listTenantSessions(this.#ops.list, tenant, query));
  }

  updateSession(tenant: string, id: string, changes: SessionChanges, write: DriverWrite): Promise<Session> {
    return this.#guard(() => updateSession(this.#ops, tenant, id, changes, write));
  }

  deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void> {
    return this.#guard(() => deleteSession(this.#ops, tenant, id, write));
  }

  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult> {
    return this.#guard(() => appendItems(this.#ops, this.#sendAppend, tenant, id, items, options));
  }

  deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session> {
    return this.#guard(() => deleteItems(this.#ops, tenant, id, itemIds, write));
  }

  readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]> {
    return this.#guard(async () => {
      this.#seen(now);
      return readItems(this.#ops, tenant, id, query, now);
    });
  }

  getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item> {
    return this.#guard(async () => {
      this.#seen(now);
      return getItem(this.#ops, tenant, id, itemId, now);
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
      return readWindow(this.#ops, tenant, id, maxTokens, now, excludeTypes);
    });
  }

  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    return this.#guard(() => forkSession(this.#ops, tenant, parentId, atSeq, child, now));
  }

  #seen(now: number): void {
    if (now > this.#lastNow) this.#lastNow = now;
  }

  /** Replaces any copy with an exact replica; long histories are built hidden, chunk by chunk. */
  putReplica(session: Session, items: Item[], retainUntil: number | null): Promise<void> {
    return this.#guard(() => putReplica(this.#ops, session, items, retainUntil, this.#lastNow || Date.now()));
  }

  appendReplica(tenant: string, id: string, change: ReplicaAppend): Promise<boolean> {
    this.#seen(change.now);
    return this.#guard(() => appendReplica(this.#ops, this.#ops.keys(tenant, id), change));
  }

  dropReplica(tenant: string, id: string): Promise<void> {
    return this.#guard(async () => {
      await this.#client.del(...this.#ops.keys(tenant, id));
    });
  }

  touch(tenant: string, id: string, now: number): Promise<Session> {
    return this.#guard(() => touch(this.#ops, tenant, id, now));
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
      async () =>
        Number(await this.#ops.run("hfClaimRenew", this.#ops.keys(tenant, id), [now, holder, until])) === 1,
    );
  }

  releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    return this.#guard(async () => {
      await this.#ops.run("hfClaimRelease", this.#ops.keys(tenant, id), [holder]);
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
