/**
 * The lifecycle capability of the Redis driver (LifecycleCapable), Cluster-safe:
 *
 * - scans walk the tenant registry (`tenants`, lexicographic) and each tenant's lifecycle
 *   index (`ids`, members `id createdAt` in id order), both maintained next to the listing
 *   index (redis-list.ts), then read each session's hash, so the keyset order (tenant, id)
 *   holds on a Cluster where a tenant's sessions spread over every master;
 * - purges, archive stubs and restores are one Lua script per session (its five keys share
 *   one slot), with the version guard inside the script (redis-lifecycle-scripts.ts);
 * - leases are one small script each (compare-and-set / renew / delete on the caller's clock).
 *
 * Redis also expires sessions natively, `expiryGraceMs` after their deadline: a session the
 * sweeper has not reached by then is gone without a purge record. The sweeper only reports what
 * it removed; dangling index entries of such sessions are repaired by the next scan.
 */
import { Cluster } from "ioredis";
import type { LifecycleCapable, LifecycleScanQuery, PurgeResult, PurgeTarget } from "../driver.ts";
import type { Item, Session } from "../types.ts";
import { checkLease, checkScanLimit, compareKey, matchesScan } from "./lifecycle-shared.ts";
import { decodeSession, type ItemCodec, pairsToRecord, type Raw } from "./redis-codec.ts";
import type { RedisClient } from "./redis-connect.ts";
import {
  idsAfter,
  idsMember,
  leaseKey,
  lifecycleIndexMarkerKey,
  parseIdsMember,
  parseIndexMember,
  type SessionKeys,
  tenantIdsKey,
  tenantsKey,
} from "./redis-keys.ts";
import type { LeaseScriptName, LifecycleScriptName } from "./redis-lifecycle-scripts.ts";
import type { ListContext } from "./redis-list.ts";
import { removeFromIndex, unindexDeleted } from "./redis-list.ts";
import { type Arg, numberedItemArgs, type Reply, slotsOf } from "./redis-replica.ts";

/** What the capability needs from the driver. */
export interface RedisLifecycleContext {
  client: RedisClient;
  prefix: string;
  codec: ItemCodec;
  expiryGraceMs: number;
  indexRepairGraceMs: number;
  list: ListContext;
  keys(tenant: string, id: string): SessionKeys;
  run(name: LifecycleScriptName | LeaseScriptName, keys: string[], args: Arg[]): Promise<Reply>;
  /** Latest `now` the core passed to the driver (0 before any): dates index repairs. */
  lastNow(): number;
}

const TENANT_BATCH = 100;
const MAX_ID_BATCH = 1000;

/** Session fields of a scan hit; null for a missing hash, a copy being built or a hot replica. */
function scanned(fields: Record<string, string>): Session | null {
  const retain = fields.retainUntil;
  if (retain !== undefined && retain !== "null") return null;
  return decodeSession(fields);
}

export function createRedisLifecycle(ctx: RedisLifecycleContext): LifecycleCapable {
  const { client, prefix } = ctx;
  let indexed = false;

  /**
   * Sessions written before the lifecycle indexes existed are only in listing indexes: once per
   * store (a marker key), every listing index is copied into the tenant registry and id index.
   */
  async function ensureIndexes(): Promise<void> {
    if (indexed) return;
    const marker = lifecycleIndexMarkerKey(prefix);
    if ((await client.get(marker)) !== "1") {
      const head = `${prefix}:t:{`;
      const tail = "}:sessions";
      const nodes = client instanceof Cluster ? client.nodes("master") : [client];
      for (const node of nodes) {
        let cursor = "0";
        do {
          const [next, keys] = await node.scan(cursor, "MATCH", `${head}*${tail}`, "COUNT", 1000);
          cursor = next;
          for (const key of keys) {
            const tenant = key.slice(head.length, key.length - tail.length);
            const members = (await client.zrange(key, "0", "-1")).flatMap((m) => {
              const e = parseIndexMember(m);
              return e ? ["0", idsMember(e.createdAt, e.id)] : [];
            });
            for (let i = 0; i < members.length; i += 2 * MAX_ID_BATCH) {
              await client.zadd(tenantIdsKey(prefix, tenant), ...members.slice(i, i + 2 * MAX_ID_BATCH));
            }
            await client.zadd(tenantsKey(prefix), 0, tenant);
          }
        } while (cursor !== "0");
      }
      await client.set(marker, "1");
    }
    indexed = true;
  }

  async function readFields(tenant: string, id: string): Promise<Record<string, string>> {
    return client.hgetall(ctx.keys(tenant, id)[0]);
  }

  /** Tenants in lexicographic order from `from` (inclusive), a batch at a time. */
  async function* tenants(query: LifecycleScanQuery): AsyncGenerator<string> {
    if (query.tenant !== undefined) {
      if (query.after === undefined || query.after.tenant <= query.tenant) yield query.tenant;
      return;
    }
    let bound = query.after ? `[${query.after.tenant}` : "-";
    for (;;) {
      const batch = await client.zrangebylex(tenantsKey(prefix), bound, "+", "LIMIT", 0, TENANT_BATCH);
      yield* batch;
      if (batch.length < TENANT_BATCH) return;
      bound = `(${batch.at(-1)}`;
    }
  }

  /** Matching sessions of one tenant in id order, until `out` holds `limit`. */
  async function scanTenant(tenant: string, query: LifecycleScanQuery, out: Session[]): Promise<void> {
    const key = tenantIdsKey(prefix, tenant);
    let bound = query.after?.tenant === tenant ? idsAfter(query.after.id) : "-";
    const batch = Math.min(MAX_ID_BATCH, Math.max((query.limit - out.length) * 2, 100));
    const repairBefore = ctx.lastNow() > 0 ? ctx.lastNow() - ctx.indexRepairGraceMs : -Infinity;
    while (out.length < query.limit) {
      const members = await client.zrangebylex(key, bound, "+", "LIMIT", 0, batch);
      if (members.length === 0) return;
      const entries = members.map(parseIdsMember);
      const fields = await Promise.all(entries.map((e) => (e ? readFields(tenant, e.id) : null)));
      const stale: Promise<unknown>[] = [];
      for (let i = 0; i < members.length && out.length < query.limit; i++) {
        const entry = entries[i];
        const f = fields[i];
        if (!entry || !f) {
          stale.push(client.zrem(key, members[i]!));
          continue;
        }
        const missing = f.id === undefined;
        if (
          (missing && entry.createdAt <= repairBefore) ||
          (!missing && Number(f.createdAt) !== entry.createdAt)
        ) {
          // Natively expired (or re-created) sessions leave entries behind: drop them from both indexes.
          stale.push(removeFromIndex(ctx.list, tenant, entry.id, entry.createdAt));
          continue;
        }
        const session = missing ? null : scanned(f);
        if (session && matchesScan(session, query)) out.push(session);
      }
      await Promise.all(stale);
      if (members.length < batch) return;
      bound = `(${members.at(-1)}`;
    }
  }

  function session(reply: Reply): Session | null {
    return String(reply[0]) === "ok" ? decodeSession(pairsToRecord(reply[1] as Raw[])) : null;
  }

  return {
    async scanSessions(query: LifecycleScanQuery): Promise<Session[]> {
      checkScanLimit(query.limit);
      if (query.tenant !== undefined && query.id !== undefined) {
        // One session: read it directly, indexed or not.
        const one = scanned(await readFields(query.tenant, query.id));
        return one && matchesScan(one, query) ? [one] : [];
      }
      await ensureIndexes();
      const out: Session[] = [];
      for await (const tenant of tenants(query)) {
        await scanTenant(tenant, query, out);
        if (out.length >= query.limit) break;
      }
      return out.sort(compareKey);
    },

    async scanItems(tenant: string, id: string, afterSeq: number, limit: number): Promise<Item[]> {
      const key = ctx.keys(tenant, id)[1];
      const items: Item[] = [];
      // Slot i holds seq i + 1; '' is a deleted item's gap, so read on until `limit` items or the end.
      for (let from = afterSeq; items.length < limit; ) {
        const want = limit - items.length;
        const raws: Raw[] = ctx.codec.binary
          ? await client.lrangeBuffer(key, from, from + want - 1)
          : await client.lrange(key, from, from + want - 1);
        raws.forEach((raw, i) => {
          if (raw.length > 0) items.push(ctx.codec.decode(raw, from + 1 + i));
        });
        if (raws.length < want) break;
        from += want;
      }
      return items;
    },

    async purgeSessions(targets: PurgeTarget[]): Promise<PurgeResult> {
      const replies = await Promise.all(
        targets.map((t) => ctx.run("hfPurge", ctx.keys(t.tenant, t.id), [t.version ?? ""])),
      );
      const result: PurgeResult = { sessions: 0, items: 0, bytes: 0, removed: [] };
      const unindex: Promise<void>[] = [];
      replies.forEach((reply, i) => {
        if (String(reply[0]) !== "ok") return;
        const t = targets[i]!;
        const [, created, items, status, itemBytes, state] = reply.map(String);
        result.sessions++;
        result.items += Number(items);
        result.bytes += (status === "archived" ? 0 : Number(itemBytes)) + Buffer.byteLength(state ?? "{}");
        result.removed.push(`${t.tenant}\u0000${t.id}`);
        // A purge carries no clock: the newest the driver saw (0 before any call: always re-check).
        unindex.push(unindexDeleted(ctx.list, t.tenant, t.id, Number(created), ctx.lastNow()));
      });
      await Promise.all(unindex);
      return result;
    },

    async archiveStub(tenant, id, change): Promise<Session | null> {
      return session(await ctx.run("hfArchiveStub", ctx.keys(tenant, id), [change.version, change.now]));
    },

    async restoreItems(tenant, id, change): Promise<Session | null> {
      return session(
        await ctx.run("hfRestore", ctx.keys(tenant, id), [
          change.version,
          change.now,
          ctx.expiryGraceMs,
          JSON.stringify(change.idleTtlMs),
          // Deleted items' seqs go back as gaps (the script pads up to the stub's last seq).
          ...numberedItemArgs(ctx.codec, slotsOf(change.items, 0)),
        ]),
      );
    },

    async acquireLease(name, holder, ttlMs, now): Promise<boolean> {
      checkLease(holder, ttlMs);
      const args = [holder, ttlMs, now, ctx.expiryGraceMs];
      return Number(await ctx.run("hfLeaseAcquire", [leaseKey(prefix, name)], args)) === 1;
    },

    async renewLease(name, holder, ttlMs, now): Promise<boolean> {
      checkLease(holder, ttlMs);
      const args = [holder, ttlMs, now, ctx.expiryGraceMs];
      return Number(await ctx.run("hfLeaseRenew", [leaseKey(prefix, name)], args)) === 1;
    },

    async releaseLease(name, holder): Promise<void> {
      await ctx.run("hfLeaseRelease", [leaseKey(prefix, name)], [holder]);
    },
  };
}
