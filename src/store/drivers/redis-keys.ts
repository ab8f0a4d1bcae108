/**
 * Key layout of the Redis driver. Every key of one session carries the hash tag
 * `{tenant:sessionId}` so all of them live in one Cluster slot and one Lua script can touch
 * them atomically. The per-tenant listing index carries `{tenant}` and so lives in another
 * slot; the driver keeps the two in step as docs/store-redis.md describes.
 *
 * Tenants cannot contain `{`/`}` and session ids cannot contain `:`, so a tag always names
 * exactly one (tenant, session) pair.
 */

/** The five keys of one session, in the order every Lua script receives them as KEYS[1..5]. */
export type SessionKeys = [meta: string, items: string, cum: string, ids: string, ops: string];

/** Hash of session fields / list of encoded items (index = seq - 1) / zset seq by running tokens / hash item id → seq / hash operation id → result. */
export function sessionKeys(prefix: string, tenant: string, id: string): SessionKeys {
  const base = `${prefix}:s:{${tenant}:${id}}:`;
  return [`${base}meta`, `${base}items`, `${base}cum`, `${base}ids`, `${base}ops`];
}

/** The tenant's listing index: a zset, all scores 0, ordered by member `createdAt|id`. */
export function tenantIndexKey(prefix: string, tenant: string): string {
  return `${prefix}:t:{${tenant}}:sessions`;
}

/** Wide enough for any epoch-ms timestamp, so lexicographic order is numeric order. */
const CREATED_WIDTH = 16;

/** Index member of a session: lexicographic order is exactly the contract's (createdAt, id) order. */
export function indexMember(createdAt: number, id: string): string {
  return `${String(createdAt).padStart(CREATED_WIDTH, "0")}|${id}`;
}

export function parseIndexMember(member: string): { createdAt: number; id: string } | null {
  const bar = member.indexOf("|");
  if (bar !== CREATED_WIDTH) return null;
  const createdAt = Number(member.slice(0, bar));
  const id = member.slice(bar + 1);
  return Number.isSafeInteger(createdAt) && id.length > 0 ? { createdAt, id } : null;
}

/**
 * The tenant's lifecycle index: a zset, all scores 0, members `id createdAt` so lexicographic
 * order is the lifecycle scan's id order (ids never contain a space, which sorts below every id
 * character). Same slot as the listing index, kept in step with it.
 */
export function tenantIdsKey(prefix: string, tenant: string): string {
  return `${prefix}:t:{${tenant}}:ids`;
}

/** Every tenant that ever had a session (a zset, lexicographic), for scans across tenants. */
export function tenantsKey(prefix: string): string {
  return `${prefix}:tenants`;
}

/** Set once the lifecycle indexes were rebuilt from the listing indexes (data written before they existed). */
export function lifecycleIndexMarkerKey(prefix: string): string {
  return `${prefix}:lifecycle-index`;
}

/** A sweeper lease: a hash {holder, expiresAt}. */
export function leaseKey(prefix: string, name: string): string {
  return `${prefix}:lease:{${name}}`;
}

export function idsMember(createdAt: number, id: string): string {
  return `${id} ${String(createdAt).padStart(CREATED_WIDTH, "0")}`;
}

export function parseIdsMember(member: string): { createdAt: number; id: string } | null {
  const space = member.indexOf(" ");
  if (space < 1) return null;
  const createdAt = Number(member.slice(space + 1));
  return Number.isSafeInteger(createdAt) ? { createdAt, id: member.slice(0, space) } : null;
}

/** Exclusive lower bound of the ids index after session `id` (every `id …` member sorts below it). */
export function idsAfter(id: string): string {
  return `(${id}!`;
}
