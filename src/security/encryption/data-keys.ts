/**
 * Per-session data keys, wrapped by the keyring's master key and stored as system records
 * (`_hf_data_key`, keyed by tenant + session). A record maps an origin session id to a wrapped
 * key: a session's own key under its own id, plus the keys it inherited from fork ancestors
 * (their copied items stay encrypted under the ancestor's key). The master key id is stored
 * beside each wrapped key, so `rotateMasterKey` re-wraps without touching any item.
 */
import { randomBytes } from "node:crypto";
import { isHoldfastError } from "../../store/errors.ts";
import type { SessionStore } from "../../store/types.ts";
import { DecryptionError } from "../errors.ts";
import { sha256Hex } from "../secrets.ts";
import { mutateRecord, type SystemRecords } from "../system-records.ts";
import { open, seal } from "./aead.ts";
import type { Keyring } from "./keyring.ts";

export const DATA_KEY_KIND = "data_key";

interface WrappedKey {
  /** Master key id. */
  kid: string;
  /** base64 of iv | wrapped key | tag. */
  w: string;
}

export interface DataKeyRecord {
  tenant: string;
  sessionId: string;
  keys: Record<string, WrappedKey>;
}

export function dataKeyRecordKey(tenant: string, sessionId: string): string {
  return sha256Hex(`${tenant}\u0000${sessionId}`);
}

/**
 * Removes the data-key records of sessions that no longer exist: crypto-shredding for deletes
 * that bypassed the decorator (the sweeper's purges, a CLI without the keyring). Needs no
 * keyring: records are deleted, never opened. A record younger than `olderThanMs` (default 10
 * min) is left alone: a session being created gets its key record before the session exists.
 * `destroy` removes one record (the decorator's also drops its caches).
 */
export async function shredOrphanedDataKeys(input: {
  store: Pick<SessionStore, "get">;
  records: SystemRecords;
  destroy?: (tenant: string, sessionId: string) => Promise<void>;
  olderThanMs?: number;
  now?: number;
}): Promise<{ checked: number; shredded: number }> {
  const { store, records } = input;
  const destroy =
    input.destroy ??
    (async (tenant: string, sessionId: string) => {
      await records.delete(DATA_KEY_KIND, dataKeyRecordKey(tenant, sessionId));
    });
  const cutoff = (input.now ?? Date.now()) - (input.olderThanMs ?? 600_000);
  let checked = 0;
  let shredded = 0;
  for await (const record of records.list<DataKeyRecord>(DATA_KEY_KIND)) {
    if (record.createdAt > cutoff) continue;
    checked++;
    const { tenant, sessionId } = record.data;
    try {
      await store.get(tenant, sessionId);
    } catch (error) {
      if (!(isHoldfastError(error) && error.code === "not_found")) throw error;
      await destroy(tenant, sessionId);
      shredded++;
    }
  }
  return { checked, shredded };
}

function wrapAad(tenant: string, sessionId: string, origin: string): string {
  return `hf-dek\u0000${tenant}\u0000${sessionId}\u0000${origin}`;
}

export function wrapKey(
  keyring: Keyring,
  key: Buffer,
  tenant: string,
  sessionId: string,
  origin: string,
): WrappedKey {
  return {
    kid: keyring.active.kid,
    w: seal(keyring.active.key, key, wrapAad(tenant, sessionId, origin)).toString("base64"),
  };
}

export function unwrapKey(
  keyring: Keyring,
  wrapped: WrappedKey,
  tenant: string,
  sessionId: string,
  origin: string,
): Buffer {
  const master = keyring.get(wrapped.kid);
  if (!master) {
    throw new DecryptionError(
      `Data key of session '${sessionId}' is wrapped by master key '${wrapped.kid}', which is not in the keyring; add it to HOLDFAST_KEYS.`,
    );
  }
  try {
    return open(master.key, Buffer.from(wrapped.w, "base64"), wrapAad(tenant, sessionId, origin));
  } catch (error) {
    throw new DecryptionError(
      `Data key of session '${sessionId}' does not unwrap: wrong master key or tampering.`,
      {
        cause: error,
      },
    );
  }
}

/** Unwrapped keys of one session: origin session id → 32-byte key. */
export type SessionKeys = Map<string, Buffer>;

export interface DataKeys {
  /** The session's keys, creating its own key when absent. */
  ensure(tenant: string, sessionId: string): Promise<SessionKeys>;
  /** The session's keys when the cache holds them within its lifetime: a hot append needs no await. */
  cached(tenant: string, sessionId: string): SessionKeys | undefined;
  /** The session's keys as stored (cached); `fresh` forces a reload. Empty when there is no record. */
  load(tenant: string, sessionId: string, fresh?: boolean): Promise<SessionKeys>;
  /** Adds `inherited` keys (e.g. a fork parent's) to the session's record. */
  inherit(tenant: string, sessionId: string, inherited: SessionKeys): Promise<SessionKeys>;
  /** Crypto-shredding: deletes the session's key record. */
  destroy(tenant: string, sessionId: string): Promise<void>;
}

export function createDataKeys(options: {
  records: SystemRecords;
  keyring: Keyring;
  /** How long a session's own key is reused for writes before re-reading its record (ms, default 1000). */
  cacheTtlMs?: number;
  /** Most sessions whose keys stay cached (default 10 000). */
  maxCached?: number;
  clock?: () => number;
}): DataKeys {
  const { records, keyring } = options;
  const ttl = options.cacheTtlMs ?? 1000;
  const maxCached = options.maxCached ?? 10_000;
  const clock = options.clock ?? Date.now;
  // By tenant + session (no hash per lookup); `wrapped` is the record's key map as read, so a
  // re-read that finds the same wrapped keys keeps the unwrapped ones (and their imported forms).
  const cache = new Map<string, { at: number; keys: SessionKeys; wrapped: string }>();
  const cacheKey = (tenant: string, sessionId: string): string => `${tenant}\u0000${sessionId}`;

  function remember(key: string, keys: SessionKeys, wrapped: string): SessionKeys {
    cache.delete(key);
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value as string);
    cache.set(key, { at: clock(), keys, wrapped });
    return keys;
  }

  function unwrapAll(record: DataKeyRecord): SessionKeys {
    const keys: SessionKeys = new Map();
    for (const [origin, wrapped] of Object.entries(record.keys)) {
      keys.set(origin, unwrapKey(keyring, wrapped, record.tenant, record.sessionId, origin));
    }
    return keys;
  }

  /** Caches a record just read or written; unchanged wrapped keys keep their unwrapped form. */
  function rememberRecord(key: string, record: DataKeyRecord): SessionKeys {
    const wrapped = JSON.stringify(record.keys);
    const hit = cache.get(key);
    return remember(key, hit?.wrapped === wrapped ? hit.keys : unwrapAll(record), wrapped);
  }

  function cached(tenant: string, sessionId: string): SessionKeys | undefined {
    const hit = cache.get(cacheKey(tenant, sessionId));
    return hit && clock() - hit.at < ttl ? hit.keys : undefined;
  }

  async function load(tenant: string, sessionId: string, fresh = false): Promise<SessionKeys> {
    const key = cacheKey(tenant, sessionId);
    const hit = cache.get(key);
    if (hit && !fresh && clock() - hit.at < ttl) return hit.keys;
    const record = await records.get<DataKeyRecord>(DATA_KEY_KIND, dataKeyRecordKey(tenant, sessionId));
    if (!record) {
      cache.delete(key);
      return new Map();
    }
    return rememberRecord(key, record.data);
  }

  async function merge(tenant: string, sessionId: string, add: SessionKeys): Promise<SessionKeys> {
    const recordKey = dataKeyRecordKey(tenant, sessionId);
    const saved = await mutateRecord<DataKeyRecord>(records, DATA_KEY_KIND, recordKey, (current) => {
      const keys = { ...(current?.keys ?? {}) };
      let changed = current === null;
      for (const [origin, key] of add) {
        if (keys[origin]) continue;
        keys[origin] = wrapKey(keyring, key, tenant, sessionId, origin);
        changed = true;
      }
      return changed ? { tenant, sessionId, keys } : undefined;
    });
    if (!saved) return new Map();
    return rememberRecord(cacheKey(tenant, sessionId), saved.data);
  }

  return Object.freeze({
    cached,
    load,
    async ensure(tenant: string, sessionId: string): Promise<SessionKeys> {
      const have = await load(tenant, sessionId);
      if (have.has(sessionId)) return have;
      return merge(tenant, sessionId, new Map([[sessionId, randomBytes(32)]]));
    },
    inherit: merge,
    async destroy(tenant: string, sessionId: string): Promise<void> {
      cache.delete(cacheKey(tenant, sessionId));
      await records.delete(DATA_KEY_KIND, dataKeyRecordKey(tenant, sessionId));
    },
  });
}

/**
 * Re-wraps every data key not wrapped by the active master key. Items are not touched. Safe to
 * run while serving (compare-and-swap per record) and to re-run after an interruption.
 */
export async function rotateMasterKey(options: {
  records: SystemRecords;
  keyring: Keyring;
}): Promise<{ records: number; rewrapped: number }> {
  const { records, keyring } = options;
  let total = 0;
  let rewrapped = 0;
  for await (const record of records.list<DataKeyRecord>(DATA_KEY_KIND)) {
    total++;
    const stale = Object.values(record.data.keys).some((w) => w.kid !== keyring.active.kid);
    if (!stale) continue;
    try {
      await mutateRecord<DataKeyRecord>(records, DATA_KEY_KIND, record.key, (current) => {
        if (!current) return undefined;
        const keys: Record<string, WrappedKey> = {};
        for (const [origin, wrapped] of Object.entries(current.keys)) {
          keys[origin] =
            wrapped.kid === keyring.active.kid
              ? wrapped
              : wrapKey(
                  keyring,
                  unwrapKey(keyring, wrapped, current.tenant, current.sessionId, origin),
                  current.tenant,
                  current.sessionId,
                  origin,
                );
        }
        return { ...current, keys };
      });
      rewrapped++;
    } catch (error) {
      // A record deleted meanwhile (session deleted) needs no re-wrap.
      if (!(isHoldfastError(error) && error.code === "not_found")) throw error;
    }
  }
  return { records: total, rewrapped };
}
