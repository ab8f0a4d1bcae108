/**
 * Lua scripts of the Redis driver's lifecycle capability (redis-lifecycle.ts). Like every
 * mutation of the driver, each one is a single script over one session's five hash-tagged keys
 * (one Cluster slot), so a purge, an archive stub or a restore commits completely or not at all.
 * Hot-tier replicas (`retainUntil` set) and copies still being built are not sessions of this
 * store: the scripts treat them as missing. Lease scripts take the one key of their lease.
 */
import { PRELUDE } from "./redis-script-prelude.ts";

/** A copy being built or a hot-tier replica reads as missing. */
const OWN = `
local function own(h) return h and not h.building and not h.retain end
`;

/**
 * ARGV: version|''. Removes the session's keys if it is still at `version`.
 * Reply: ok, createdAt, items removed, status, itemBytes, state | nf | ver.
 */
const PURGE = `
local h = head()
if not own(h) then return {'nf'} end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= h.version then return {'ver'} end
local v = redis.call('HMGET', KEYS[1], 'status', 'state')
local n = redis.call('LLEN', KEYS[2]) - tonumber(redis.call('HGET', KEYS[1], 'deletedItems') or '0')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {'ok', h.created, n, v[1], fmt(h.bytes), v[2] or '{}'}
`;

/**
 * ARGV: version, now. Items and operation records go, counters stay, status `archived`, TTLs
 * (and native expiry) cleared so the stub stays visible, version bumped. Reply: ok, fields.
 */
const ARCHIVE_STUB = `
local h = head()
if not own(h) then return {'nf'} end
if h.version ~= tonumber(ARGV[1]) then return {'ver'} end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[1], 'status', 'archived', 'idleTtlMs', 'null', 'expiresAt', 'null',
  'version', fmt(h.version + 1), 'updatedAt', ARGV[2], 'ttl', '0')
redis.call('PERSIST', KEYS[1])
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: version, now, grace, idleTtlMs|'null', nItems, items… (id, tokens, bytes, encoded).
 * Puts archived items back (at their seqs, gaps of deleted items kept) into a stub still at `version`. Reply: ok, fields.
 */
const RESTORE = `
local now = tonumber(ARGV[2])
local h = head()
if not own(h) then return {'nf'} end
if h.version ~= tonumber(ARGV[1]) then return {'ver'} end
-- Items come back at their seqs: gaps of deleted items as '' slots, padded to the stub's last seq.
local keep = h.count
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
h.count, h.tokens, h.bytes = 0, 0, 0
push_items(h, 6, tonumber(ARGV[5]))
local gaps = h.gaps or 0
h.gaps = nil
while h.count < keep do
  redis.call('RPUSH', KEYS[2], '')
  h.count = h.count + 1
  gaps = gaps + 1
end
h.version = h.version + 1
h.last = now
h.idle = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'status', 'active', 'idleTtlMs', ARGV[4], 'lastActiveAt', ARGV[2],
  'updatedAt', ARGV[2], 'version', fmt(h.version), 'itemCount', fmt(h.count),
  'tokenCount', fmt(h.tokens), 'itemBytes', fmt(h.bytes), 'deletedItems', fmt(gaps))
align_expiry(h, now, tonumber(ARGV[3]))
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * Leases are judged by the caller's clock (ARGV now), like every expiry in the store, so
 * instances agree whatever Redis' own clock says; native expiry (ttl + grace) only collects
 * leases nobody released. ARGV: holder, ttlMs, now, grace. Reply: 1 taken, 0 held by another.
 */
const LEASE_ACQUIRE = `
local v = redis.call('HMGET', KEYS[1], 'holder', 'expiresAt')
local now = tonumber(ARGV[3])
if v[1] and v[1] ~= ARGV[1] and tonumber(v[2]) > now then return 0 end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'expiresAt', string.format('%d', now + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[4]))
return 1
`;

/** ARGV: holder, ttlMs, now, grace. Compare-and-renew: 0 once the lease was lost. */
const LEASE_RENEW = `
local v = redis.call('HMGET', KEYS[1], 'holder', 'expiresAt')
local now = tonumber(ARGV[3])
if v[1] ~= ARGV[1] or tonumber(v[2]) <= now then return 0 end
redis.call('HSET', KEYS[1], 'expiresAt', string.format('%d', now + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[4]))
return 1
`;

/** ARGV: holder. Compare-and-delete. */
const LEASE_RELEASE = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/** Script name → Lua; all take the five session keys. */
export const LIFECYCLE_SCRIPTS = Object.freeze({
  hfPurge: PRELUDE + OWN + PURGE,
  hfArchiveStub: PRELUDE + OWN + ARCHIVE_STUB,
  hfRestore: PRELUDE + OWN + RESTORE,
});

/** Lease scripts: one key each. */
export const LEASE_SCRIPTS = Object.freeze({
  hfLeaseAcquire: LEASE_ACQUIRE,
  hfLeaseRenew: LEASE_RENEW,
  hfLeaseRelease: LEASE_RELEASE,
});

export type LifecycleScriptName = keyof typeof LIFECYCLE_SCRIPTS;
export type LeaseScriptName = keyof typeof LEASE_SCRIPTS;
