/**
 * Owner-level revocation: "log out everywhere" sets a `notBefore` instant per (tenant, owner);
 * access tokens issued before it stop verifying. Verifiers read it through a tiny cache whose
 * TTL is at most one second, so revocation reaches every instance within a second.
 */
import { InvalidArgumentError } from "../store/errors.ts";
import { sha256Hex } from "./secrets.ts";
import { mutateRecord, type SystemRecords } from "./system-records.ts";

const KIND = "owner_revocation";

interface Revocation {
  notBefore: number;
}

export interface OwnerRevocations {
  /** Epoch ms before which this owner's tokens are void (0 when never revoked). */
  notBefore(tenant: string, owner: string): Promise<number>;
  /** Voids every token of the owner issued up to now; returns the new notBefore. */
  revokeAll(tenant: string, owner: string): Promise<number>;
}

/** Stable key of an owner inside a tenant (hashed so any owner string fits). */
export function ownerKey(tenant: string, owner: string): string {
  return sha256Hex(`${tenant}\u0000${owner}`);
}

export function createOwnerRevocations(options: {
  records: SystemRecords;
  clock?: () => number;
  /** Cache TTL in ms, 0-1000 (default 1000). */
  cacheTtlMs?: number;
  /** Most owners cached (default 10 000, oldest evicted first). */
  maxEntries?: number;
}): OwnerRevocations {
  const { records } = options;
  const clock = options.clock ?? Date.now;
  const ttl = options.cacheTtlMs ?? 1000;
  if (!Number.isFinite(ttl) || ttl < 0 || ttl > 1000) {
    throw new InvalidArgumentError("cacheTtlMs must be 0-1000 so revocation applies within a second.");
  }
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { at: number; notBefore: number }>();

  return Object.freeze({
    async notBefore(tenant: string, owner: string): Promise<number> {
      const key = ownerKey(tenant, owner);
      const now = clock();
      const hit = cache.get(key);
      if (hit && now - hit.at < ttl) return hit.notBefore;
      const record = await records.get<Revocation>(KIND, key);
      const notBefore = record?.data.notBefore ?? 0;
      cache.delete(key);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(key, { at: now, notBefore });
      return notBefore;
    },
    async revokeAll(tenant: string, owner: string): Promise<number> {
      const key = ownerKey(tenant, owner);
      const now = clock();
      const saved = await mutateRecord<Revocation>(records, KIND, key, (cur) =>
        cur && cur.notBefore >= now ? undefined : { notBefore: now },
      );
      const notBefore = saved?.data.notBefore ?? now;
      cache.set(key, { at: now, notBefore });
      return notBefore;
    },
  });
}
