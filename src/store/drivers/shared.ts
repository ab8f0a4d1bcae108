/**
 * Pure helpers every driver may use to decide the same things the same way. (Drivers never
 * import each other; they may all import this.)
 */
import type { DriverListQuery } from "../driver.ts";
import { compareSessions } from "../list-sort.ts";
import type { Session } from "../types.ts";

export { compareSessions, sortValue } from "../list-sort.ts";

/** The visibility rule of the contract: expired sessions are invisible at once. */
export function isVisible(
  session: Pick<Session, "idleTtlMs" | "lastActiveAt" | "expiresAt">,
  now: number,
): boolean {
  if (session.idleTtlMs !== null && session.lastActiveAt + session.idleTtlMs <= now) return false;
  if (session.expiresAt !== null && session.expiresAt <= now) return false;
  return true;
}

/** In-process filter for drivers that cannot push a list query down to their engine. */
export function matchesListQuery(session: Session, query: DriverListQuery): boolean {
  if (!isVisible(session, query.now)) return false;
  if (query.owner !== undefined && session.owner !== query.owner) return false;
  if (query.label !== undefined && !session.labels.includes(query.label)) return false;
  if (query.status !== undefined && session.status !== query.status) return false;
  if (query.updatedBefore !== undefined && !(session.updatedAt < query.updatedBefore)) return false;
  if (query.updatedAfter !== undefined && !(session.updatedAt > query.updatedAfter)) return false;
  if (query.createdBefore !== undefined && !(session.createdAt < query.createdBefore)) return false;
  if (query.createdAfter !== undefined && !(session.createdAt > query.createdAfter)) return false;
  if (query.minBytes !== undefined && session.bytes < query.minBytes) return false;
  if (query.maxBytes !== undefined && session.bytes > query.maxBytes) return false;
  if (query.forkOf !== undefined && session.forkParent?.sessionId !== query.forkOf) return false;
  if (query.after !== undefined) {
    const cmp = compareSessions(session, query.after, query.sort);
    if (query.order === "asc" ? cmp <= 0 : cmp >= 0) return false;
  }
  return true;
}

/** Session byte size as the contract defines it: item bytes plus the serialized state. */
export function sessionBytes(itemBytes: number, stateJson: string): number {
  return itemBytes + Buffer.byteLength(stateJson);
}
