/**
 * Pure helpers the lifecycle capability of every driver shares (drivers never import each
 * other; they may all import this), so a scan filters and orders the same way everywhere.
 */
import type { LifecycleScanQuery } from "../driver.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { Session } from "../types.ts";
import { isVisible } from "./shared.ts";

/** Largest scan page a driver answers. */
export const MAX_SCAN_LIMIT = 10_000;

/** Rejects a scan limit outside 1..MAX_SCAN_LIMIT. */
export function checkScanLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SCAN_LIMIT) {
    throw new InvalidArgumentError(`scan limit must be an integer in 1..${MAX_SCAN_LIMIT} (got ${limit}).`, {
      param: "limit",
    });
  }
}

/** Ascending (tenant, id), the keyset order of every scan. */
export function compareKey(a: { tenant: string; id: string }, b: { tenant: string; id: string }): number {
  if (a.tenant !== b.tenant) return a.tenant < b.tenant ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** In-process filter of a lifecycle scan (drivers that cannot push it down to their engine). */
export function matchesScan(session: Session, query: LifecycleScanQuery): boolean {
  if (query.tenant !== undefined && session.tenant !== query.tenant) return false;
  if (query.id !== undefined && session.id !== query.id) return false;
  if (query.owner !== undefined && session.owner !== query.owner) return false;
  if (query.pinned !== undefined && session.pinned !== query.pinned) return false;
  if (query.status !== undefined && session.status !== query.status) return false;
  if (query.expiredAt !== undefined && isVisible(session, query.expiredAt)) return false;
  if (query.idleBefore !== undefined && !(session.lastActiveAt < query.idleBefore)) return false;
  if (query.after !== undefined && compareKey(session, query.after) <= 0) return false;
  return true;
}

/** Lease bookkeeping for drivers that keep leases as plain records. */
export interface LeaseRecord {
  holder: string;
  expiresAt: number;
}

/** Whether `holder` may take a lease currently described by `current`. */
export function leaseFree(current: LeaseRecord | undefined, holder: string, now: number): boolean {
  return current === undefined || current.holder === holder || current.expiresAt <= now;
}

/** Rejects a non-positive lease TTL or an empty holder id. */
export function checkLease(holder: string, ttlMs: number): void {
  if (typeof holder !== "string" || holder.length === 0) {
    throw new InvalidArgumentError("lease holder must be a non-empty string.", { param: "holder" });
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new InvalidArgumentError(`lease ttlMs must be a positive integer (got ${ttlMs}).`, {
      param: "ttlMs",
    });
  }
}
