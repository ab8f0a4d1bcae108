/**
 * Tiered composition: a durable tier that is the source of truth (every write commits there
 * first, so losing the hot tier loses nothing acknowledged) and a hot tier holding exact
 * replicas of recently active sessions, which serves reads.
 *
 * Keeping replicas exact without a distributed lock:
 * - an append is mirrored with `appendReplica(fromVersion)`, which applies only if the replica
 *   is exactly one version behind; anything else drops the replica;
 * - every other write drops the replica;
 * - a miss hydrates from the durable tier, then re-reads the durable head and drops the fresh
 *   replica if a write landed meanwhile (that write's mirror found no replica to extend);
 * - replicas carry `retainUntil`, so the hot tier holds only active sessions and any replica a
 *   failed mirror could leave behind is bounded in age.
 */
import {
  type DriverAppend,
  type DriverListQuery,
  type DriverReadQuery,
  type DriverWindow,
  type DriverWrite,
  type ItemDeleteCapable,
  isItemDeleteCapable,
  isLifecycleCapable,
  type LifecycleCapable,
  type LifecycleScanQuery,
  type PreparedItem,
  type PurgeResult,
  type PurgeTarget,
  type ReplicaTarget,
  type SessionChanges,
  type StoreDriver,
} from "./driver.ts";
import { isHoldfastError, UnsupportedError } from "./errors.ts";
import type { AppendResult, Item, Session } from "./types.ts";

export interface TieredDriverOptions {
  hot: StoreDriver & ReplicaTarget;
  durable: StoreDriver;
  /** How long a replica stays in the hot tier after its last write or hydration. Default 15 minutes. */
  hotRetentionMs?: number;
  /** Called when the hot tier fails; reads fall back to the durable tier. */
  onHotError?: (error: unknown) => void;
}

const HYDRATE_PAGE = 10_000;

class TieredDriver implements StoreDriver, ItemDeleteCapable {
  readonly name: string;
  readonly #hot: StoreDriver & ReplicaTarget;
  readonly #durable: StoreDriver;
  readonly #retentionMs: number;
  readonly #onHotError: (error: unknown) => void;

  constructor(options: TieredDriverOptions) {
    this.#hot = options.hot;
    this.#durable = options.durable;
    this.#retentionMs = options.hotRetentionMs ?? 15 * 60_000;
    if (!Number.isSafeInteger(this.#retentionMs) || this.#retentionMs <= 0) {
      throw new RangeError("hotRetentionMs must be a positive integer of milliseconds.");
    }
    this.#onHotError = options.onHotError ?? (() => {});
    this.name = `tiered(${this.#hot.name}>${this.#durable.name})`;
  }

  /** Runs a hot-tier call; a failure is reported and treated as a miss. */
  async #hotTry<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (!(isHoldfastError(error) && error.code === "not_found")) this.#onHotError(error);
      return undefined;
    }
  }

  /** Drops the hot replica of a session (subclasses call it after durable-tier writes). */
  protected drop(tenant: string, id: string): Promise<void> {
    return this.#drop(tenant, id);
  }

  async #drop(tenant: string, id: string): Promise<void> {
    await this.#hotTry(() => this.#hot.dropReplica(tenant, id));
  }

  async #hydrate(tenant: string, id: string, now: number): Promise<void> {
    const session = await this.#durable.getSession(tenant, id, now);
    if (!session) return;
    const items: Item[] = [];
    // Seqs may have gaps (deleted items): page by seq up to lastSeq, count by itemCount.
    for (let after = 0; after < session.lastSeq; ) {
      const page = await this.#durable.readItems(
        tenant,
        id,
        { afterSeq: after, limit: HYDRATE_PAGE, order: "asc" },
        now,
      );
      if (page.length === 0) break;
      items.push(...page);
      after = page.at(-1)!.seq;
    }
    if (items.length !== session.itemCount) return;
    await this.#hotTry(() => this.#hot.putReplica(session, items, now + this.#retentionMs));
    const head = await this.#durable.getSession(tenant, id, now);
    if (head?.version !== session.version) await this.#drop(tenant, id);
  }

  /** Serves a read from the hot tier, hydrating it from the durable tier on a miss. */
  async #read<T>(
    tenant: string,
    id: string,
    now: number,
    read: (driver: StoreDriver) => Promise<T>,
  ): Promise<T> {
    const hot = await this.#hotTry(() => read(this.#hot));
    if (hot !== undefined && hot !== null) return hot;
    const durable = await read(this.#durable);
    if (durable !== null) await this.#hydrate(tenant, id, now).catch((error) => this.#onHotError(error));
    return durable;
  }

  createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    return this.#durable.createSession(session, items);
  }

  getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    return this.#read(tenant, id, now, (d) => d.getSession(tenant, id, now));
  }

  listSessions(tenant: string, query: DriverListQuery): Promise<Session[]> {
    return this.#durable.listSessions(tenant, query);
  }

  async updateSession(
    tenant: string,
    id: string,
    changes: SessionChanges,
    write: DriverWrite,
  ): Promise<Session> {
    try {
      return await this.#durable.updateSession(tenant, id, changes, write);
    } finally {
      await this.#drop(tenant, id);
    }
  }

  async deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void> {
    try {
      await this.#durable.deleteSession(tenant, id, write);
    } finally {
      await this.#drop(tenant, id);
    }
  }

  async append(
    tenant: string,
    id: string,
    items: PreparedItem[],
    options: DriverAppend,
  ): Promise<AppendResult> {
    const result = await this.#durable.append(tenant, id, items, options);
    if (result.replayed) return result;
    const mirrored = await this.#hotTry(() =>
      this.#hot.appendReplica(tenant, id, {
        fromVersion: result.version - 1,
        toVersion: result.version,
        items: result.items,
        now: options.now,
        retainUntil: options.now + this.#retentionMs,
      }),
    );
    if (mirrored !== true) await this.#drop(tenant, id);
    return result;
  }

  async deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session> {
    const durable = this.#durable;
    if (!isItemDeleteCapable(durable)) {
      throw new UnsupportedError(`The '${durable.name}' store cannot delete items.`);
    }
    try {
      return await durable.deleteItems(tenant, id, itemIds, write);
    } finally {
      await this.#drop(tenant, id);
    }
  }

  readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]> {
    return this.#read(tenant, id, now, (d) => d.readItems(tenant, id, query, now));
  }

  getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item> {
    return this.#read(tenant, id, now, (d) => d.getItem(tenant, id, itemId, now));
  }

  readWindow(
    tenant: string,
    id: string,
    maxTokens: number,
    now: number,
    excludeTypes?: readonly string[],
  ): Promise<DriverWindow> {
    return this.#read(tenant, id, now, (d) => d.readWindow(tenant, id, maxTokens, now, excludeTypes));
  }

  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    return this.#durable.fork(tenant, parentId, atSeq, child, now);
  }

  async touch(tenant: string, id: string, now: number): Promise<Session> {
    try {
      return await this.#durable.touch(tenant, id, now);
    } finally {
      await this.#drop(tenant, id);
    }
  }

  /** Claims live in the durable tier only (appends carry them there); replicas never see them. */
  renewClaim(tenant: string, id: string, holder: string, until: number, now: number): Promise<boolean> {
    return this.#durable.renewClaim(tenant, id, holder, until, now);
  }

  releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    return this.#durable.releaseClaim(tenant, id, holder);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#hot.close(), this.#durable.close()]);
  }
}

/**
 * The lifecycle capability of a tiered store whose durable tier has one: the sweeper scans,
 * purges, archives and leases on the durable tier (the source of truth, which holds every
 * session), then drops the hot replicas of the sessions it changed, so the hot tier never
 * serves a purged session or the items of an archive stub. Replicas the hot tier drops by
 * itself (retainUntil, native expiry) need no sweeping.
 */
class TieredLifecycleDriver extends TieredDriver implements LifecycleCapable {
  readonly #durable: StoreDriver & LifecycleCapable;

  constructor(options: TieredDriverOptions, durable: StoreDriver & LifecycleCapable) {
    super(options);
    this.#durable = durable;
  }

  scanSessions(query: LifecycleScanQuery): Promise<Session[]> {
    return this.#durable.scanSessions(query);
  }
  scanItems(tenant: string, id: string, afterSeq: number, limit: number): Promise<Item[]> {
    return this.#durable.scanItems(tenant, id, afterSeq, limit);
  }
  async purgeSessions(targets: PurgeTarget[]): Promise<PurgeResult> {
    const result = await this.#durable.purgeSessions(targets);
    await Promise.all(
      result.removed.map((key) => {
        const [tenant, id] = key.split("\u0000") as [string, string];
        return this.drop(tenant, id);
      }),
    );
    return result;
  }
  async archiveStub(
    tenant: string,
    id: string,
    change: { version: number; now: number },
  ): Promise<Session | null> {
    try {
      return await this.#durable.archiveStub(tenant, id, change);
    } finally {
      await this.drop(tenant, id);
    }
  }
  async restoreItems(
    tenant: string,
    id: string,
    change: { version: number; items: Item[]; idleTtlMs: number | null; now: number },
  ): Promise<Session | null> {
    try {
      return await this.#durable.restoreItems(tenant, id, change);
    } finally {
      await this.drop(tenant, id);
    }
  }
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#durable.acquireLease(name, holder, ttlMs, now);
  }
  renewLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#durable.renewLease(name, holder, ttlMs, now);
  }
  releaseLease(name: string, holder: string): Promise<void> {
    return this.#durable.releaseLease(name, holder);
  }
}

/** A tiered driver; lifecycle-capable (sweeper, archives) when its durable tier is. */
export function createTieredDriver(options: TieredDriverOptions): StoreDriver {
  const durable = options.durable;
  return isLifecycleCapable(durable)
    ? new TieredLifecycleDriver(options, durable)
    : new TieredDriver(options);
}
