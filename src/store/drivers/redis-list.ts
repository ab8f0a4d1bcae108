/**
 * Per-tenant listing for the Redis driver. A tenant's sessions hash to many Cluster slots, so
 * a listing cannot be one atomic read; the tenant keeps its own index (a zset in its own
 * slot, members `createdAt|id` so lexicographic order is the contract's order) and this
 * module reconciles the index with the sessions it points at:
 *
 * - writers add the index entry BEFORE creating the session and remove it AFTER deleting
 *   it, so a live session always has an entry (a crash in between leaves only a dangling
 *   entry, never an unlisted session);
 * - readers fetch each entry's session and skip entries whose session is missing, expired
 *   (by the core's clock) or was re-created with another creation time; dangling entries
 *   older than `indexRepairGraceMs` are removed (a younger one may belong to a creation in
 *   flight, so it is only skipped).
 *
 * Next to each listing entry the tenant keeps a lifecycle entry (`ids` zset, id order) and the
 * store a tenant registry, both used by the sweeper's scans (redis-lifecycle.ts); they are
 * added and removed with the listing entry.
 *
 * Filters (owner, label, status, update/creation time, size, fork parent) are applied to fetched sessions;
 * pages are fetched until the requested number of matches is found or the index ends.
 *
 * The index is ordered by creation time only. The other sorts (last update, item count, bytes)
 * have no index here — keeping one would add a write to every append — so such a list reads
 * every session of the tenant and sorts them: O(tenant sessions) per page, documented in
 * docs/store-redis.md; use SQLite or Postgres for sorted dashboards over very large tenants.
 */
import type { DriverListQuery } from "../driver.ts";
import type { Session } from "../types.ts";
import type { RedisClient } from "./redis-connect.ts";
import {
  idsMember,
  indexMember,
  parseIndexMember,
  tenantIdsKey,
  tenantIndexKey,
  tenantsKey,
} from "./redis-keys.ts";
import { compareSessions, matchesListQuery } from "./shared.ts";

export interface ListContext {
  client: RedisClient;
  prefix: string;
  indexRepairGraceMs: number;
  /** Reads one session hash (null when missing). */
  readSession: (tenant: string, id: string) => Promise<Session | null>;
  /** Tenants this process already put in the tenant registry (entries are never removed). */
  knownTenants: Set<string>;
}

const MAX_BATCH = 1000;

function hasFilters(q: DriverListQuery): boolean {
  return (
    q.owner !== undefined ||
    q.label !== undefined ||
    q.status !== undefined ||
    q.updatedBefore !== undefined ||
    q.updatedAfter !== undefined ||
    q.createdBefore !== undefined ||
    q.createdAfter !== undefined ||
    q.minBytes !== undefined ||
    q.maxBytes !== undefined
  );
}

export async function listTenantSessions(
  ctx: ListContext,
  tenant: string,
  query: DriverListQuery,
): Promise<Session[]> {
  if (query.sort !== "created") return listSortedByScan(ctx, tenant, query);
  const key = tenantIndexKey(ctx.prefix, tenant);
  const asc = query.order === "asc";
  // Unfiltered pages are usually full on the first batch; filtered ones read ahead.
  const batch = Math.min(MAX_BATCH, hasFilters(query) ? Math.max(query.limit * 4, 100) : query.limit + 4);
  let bound = query.after ? `(${indexMember(query.after.value, query.after.id)}` : asc ? "-" : "+";
  const out: Session[] = [];
  while (out.length < query.limit) {
    const members = asc
      ? await ctx.client.zrangebylex(key, bound, "+", "LIMIT", 0, batch)
      : await ctx.client.zrevrangebylex(key, bound, "-", "LIMIT", 0, batch);
    if (members.length === 0) break;
    const entries = members.map(parseIndexMember);
    const sessions = await Promise.all(
      entries.map((e) => (e ? ctx.readSession(tenant, e.id) : Promise.resolve(null))),
    );
    const stale: string[] = [];
    for (let i = 0; i < members.length && out.length < query.limit; i++) {
      const entry = entries[i];
      const session = sessions[i];
      if (!entry || (session && session.createdAt !== entry.createdAt)) stale.push(members[i]!);
      else if (!session) {
        if (entry.createdAt <= query.now - ctx.indexRepairGraceMs) stale.push(members[i]!);
      } else if (matchesListQuery(session, query)) out.push(session);
    }
    if (stale.length > 0) await removeStale(ctx, tenant, stale);
    if (members.length < batch) break;
    bound = `(${members.at(-1)}`;
  }
  return out;
}

/** A sort without an index: every session of the tenant (creation order), filtered, then sorted. */
async function listSortedByScan(
  ctx: ListContext,
  tenant: string,
  query: DriverListQuery,
): Promise<Session[]> {
  const all: Session[] = [];
  let after: { value: number; id: string } | undefined;
  for (;;) {
    const page = await listTenantSessions(ctx, tenant, {
      ...query,
      sort: "created",
      order: "asc",
      after,
      limit: MAX_BATCH,
    });
    all.push(...page);
    const last = page.at(-1);
    if (!last || page.length < MAX_BATCH) break;
    after = { value: last.createdAt, id: last.id };
  }
  const sign = query.order === "asc" ? 1 : -1;
  return all
    .filter((s) => !query.after || sign * compareSessions(s, query.after, query.sort) > 0)
    .sort((a, b) => sign * compareSessions(a, b, query.sort))
    .slice(0, query.limit);
}

/** Removes stale listing entries and the lifecycle-index entries of the same sessions. */
async function removeStale(ctx: ListContext, tenant: string, members: string[]): Promise<void> {
  const ids = members.flatMap((m) => {
    const e = parseIndexMember(m);
    return e ? [idsMember(e.createdAt, e.id)] : [];
  });
  await Promise.all([
    ctx.client.zrem(tenantIndexKey(ctx.prefix, tenant), ...members),
    ids.length > 0 ? ctx.client.zrem(tenantIdsKey(ctx.prefix, tenant), ...ids) : null,
  ]);
}

/**
 * Adds the session's index entries (before the session is written): the listing index, the
 * lifecycle index (id order, for scans) and, once per process and tenant, the tenant registry.
 */
export async function addToIndex(ctx: ListContext, session: Session): Promise<void> {
  const { tenant, createdAt, id } = session;
  const known = ctx.knownTenants.has(tenant);
  await Promise.all([
    ctx.client.zadd(tenantIndexKey(ctx.prefix, tenant), 0, indexMember(createdAt, id)),
    ctx.client.zadd(tenantIdsKey(ctx.prefix, tenant), 0, idsMember(createdAt, id)),
    known ? null : ctx.client.zadd(tenantsKey(ctx.prefix), 0, tenant),
  ]);
  if (!known) ctx.knownTenants.add(tenant);
}

/**
 * Removes a deleted (or purged) session's index entries, unless the id was created again with
 * the same creation time meanwhile: the entries are then the new session's. A create adds its
 * entry before its script and again after it, so whichever of the delete's removal and the
 * create's second add comes last, the new session stays listed; this re-check covers the
 * removal landing after that second add. It can only happen while the creation time is within
 * `indexRepairGraceMs` of `now` (instances' clocks agree within it), so older sessions skip it.
 */
export async function unindexDeleted(
  ctx: ListContext,
  tenant: string,
  id: string,
  createdAt: number,
  now: number,
): Promise<void> {
  await removeFromIndex(ctx, tenant, id, createdAt);
  if (createdAt <= now - ctx.indexRepairGraceMs) return;
  const again = await ctx.readSession(tenant, id);
  if (again && again.createdAt === createdAt) await addToIndex(ctx, again);
}

/** Removes a session's index entry (after the session is gone). */
export async function removeFromIndex(
  ctx: ListContext,
  tenant: string,
  id: string,
  createdAt: number,
): Promise<void> {
  await Promise.all([
    ctx.client.zrem(tenantIndexKey(ctx.prefix, tenant), indexMember(createdAt, id)),
    ctx.client.zrem(tenantIdsKey(ctx.prefix, tenant), idsMember(createdAt, id)),
  ]);
}
