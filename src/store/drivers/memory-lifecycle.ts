/**
 * The lifecycle capability of the `memory:` driver (LifecycleCapable): scans, purges, archive
 * stubs and leases over the driver's own entry map. Like every memory operation each call runs
 * synchronously, so it is atomic with respect to every other operation in the process.
 */
import type { LifecycleCapable, LifecycleScanQuery, PurgeResult, PurgeTarget } from "../driver.ts";
import type { Item, Session } from "../types.ts";
import {
  checkLease,
  checkScanLimit,
  compareKey,
  type LeaseRecord,
  leaseFree,
  matchesScan,
} from "./lifecycle-shared.ts";
import { sessionBytes } from "./shared.ts";

/** The part of a memory entry the lifecycle capability reads and writes. */
export interface MemoryLifecycleEntry<S extends { seq: number }> {
  session: Session;
  /** Items as the driver keeps them; the `items` codec of createMemoryLifecycle converts. */
  items: S[];
  cumTokens: number[];
  itemBytes: number;
  itemIndex: Map<string, number>;
  operations: Map<string, unknown>;
  retainUntil: number | null;
}

/** How the driver keeps items: fresh public copies out, its private stored form in. */
export interface MemoryItemCodec<S> {
  toItem(stored: S): Item;
  fromItem(item: Item): S;
}

/** Builds the capability over `entries` (keyed `tenant\0id`, the memory driver's own map). */
export function createMemoryLifecycle<S extends { seq: number }>(
  entries: Map<string, MemoryLifecycleEntry<S>>,
  items: MemoryItemCodec<S>,
): LifecycleCapable {
  const leases = new Map<string, LeaseRecord>();
  const key = (tenant: string, id: string): string => `${tenant}\u0000${id}`;
  const snapshot = (e: MemoryLifecycleEntry<S>): Session =>
    structuredClone({ ...e.session, bytes: sessionBytes(e.itemBytes, JSON.stringify(e.session.state)) });

  return {
    async scanSessions(query: LifecycleScanQuery): Promise<Session[]> {
      checkScanLimit(query.limit);
      const rows = [...entries.values()]
        .filter((e) => e.retainUntil === null && matchesScan(e.session, query))
        .sort((a, b) => compareKey(a.session, b.session));
      return rows.slice(0, query.limit).map(snapshot);
    },

    async scanItems(tenant: string, id: string, afterSeq: number, limit: number): Promise<Item[]> {
      const entry = entries.get(key(tenant, id));
      if (!entry) return [];
      return entry.items
        .filter((i) => i.seq > afterSeq)
        .slice(0, limit)
        .map((i) => items.toItem(i));
    },

    async purgeSessions(targets: PurgeTarget[]): Promise<PurgeResult> {
      const result: PurgeResult = { sessions: 0, items: 0, bytes: 0, removed: [] };
      for (const t of targets) {
        const k = key(t.tenant, t.id);
        const entry = entries.get(k);
        if (!entry || (t.version !== undefined && entry.session.version !== t.version)) continue;
        entries.delete(k);
        result.sessions++;
        result.items += entry.items.length;
        const itemBytes = entry.session.status === "archived" ? 0 : entry.itemBytes;
        result.bytes += sessionBytes(itemBytes, JSON.stringify(entry.session.state));
        result.removed.push(k);
      }
      return result;
    },

    async archiveStub(tenant, id, change): Promise<Session | null> {
      const entry = entries.get(key(tenant, id));
      if (!entry || entry.session.version !== change.version) return null;
      entry.items = [];
      entry.cumTokens = [];
      entry.itemIndex = new Map();
      entry.operations.clear();
      Object.assign(entry.session, {
        status: "archived",
        idleTtlMs: null,
        expiresAt: null,
        version: entry.session.version + 1,
        updatedAt: change.now,
      });
      return snapshot(entry);
    },

    async restoreItems(tenant, id, change): Promise<Session | null> {
      const entry = entries.get(key(tenant, id));
      if (!entry || entry.session.version !== change.version) return null;
      entry.items = [];
      entry.cumTokens = [];
      entry.itemIndex = new Map();
      let bytes = 0;
      for (const item of change.items) {
        entry.itemIndex.set(item.id, entry.items.length);
        entry.items.push(items.fromItem(item));
        entry.cumTokens.push((entry.cumTokens.at(-1) ?? 0) + item.tokens);
        bytes += item.bytes;
      }
      entry.itemBytes = bytes;
      Object.assign(entry.session, {
        status: "active",
        idleTtlMs: change.idleTtlMs,
        itemCount: entry.items.length,
        tokenCount: entry.cumTokens.at(-1) ?? 0,
        version: entry.session.version + 1,
        updatedAt: change.now,
        lastActiveAt: change.now,
      });
      return snapshot(entry);
    },

    async acquireLease(name, holder, ttlMs, now): Promise<boolean> {
      checkLease(holder, ttlMs);
      if (!leaseFree(leases.get(name), holder, now)) return false;
      leases.set(name, { holder, expiresAt: now + ttlMs });
      return true;
    },

    async renewLease(name, holder, ttlMs, now): Promise<boolean> {
      checkLease(holder, ttlMs);
      const current = leases.get(name);
      if (!current || current.holder !== holder || current.expiresAt <= now) return false;
      current.expiresAt = now + ttlMs;
      return true;
    },

    async releaseLease(name, holder): Promise<void> {
      if (leases.get(name)?.holder === holder) leases.delete(name);
    },
  };
}
