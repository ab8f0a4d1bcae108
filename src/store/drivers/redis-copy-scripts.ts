/**
 * Lua for copies of a session: creating (fresh or forked), reading a parent's items for a fork,
 * building long copies chunk by chunk, and hot-tier replicas (put and extend).
 */

/**
 * Shared start of CREATE and REPLICA_PUT: writes the session fields (ARGV: now, grace, mode,
 * nFields, fields…), marking the copy hidden ('building', on a TTL) when `building` (a Lua
 * condition on mode) holds, then reads the head (h) and the item count (n).
 */
function writeFields(building: string): string {
  return `
local mode = ARGV[3]
local nf = tonumber(ARGV[4])
local f = {}
for i = 1, nf do f[i] = ARGV[4 + i] end
if ${building} then
  f[#f + 1] = 'building'
  f[#f + 1] = '1'
  f[#f + 1] = 'ttl'
  f[#f + 1] = '1'
end
redis.call('HSET', KEYS[1], unpack(f))
local h = head()
local n = tonumber(ARGV[5 + nf])`;
}

/**
 * ARGV: now, grace, mode, nFields, fields…, nItems, items…. mode: 'create' (initial items count
 * as a mutation), 'fork' (a complete fork) or a build TTL in ms (first chunk of a large fork: the
 * session stays invisible, and expires unless finished, until hfForkDone).
 */
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists', redis.call('HGET', KEYS[1], 'createdAt')} end${writeFields("mode ~= 'create' and mode ~= 'fork'")}
if n > 0 then
  push_items(h, 6 + nf, n)
  if mode == 'create' then h.version = h.version + 1 end
end
if h.building then
  save_counts(h, mode)
  return {'ok'}
end
if n > 0 then save_counts(h, nil) end
align_expiry(h, tonumber(ARGV[1]), tonumber(ARGV[2]))
return {'ok'}
`;

/**
 * ARGV: now, grace, mode, nFields, fields…, nItems, items…: replaces whatever copy exists with
 * an exact replica (tiered stores). mode 'whole', or a build TTL for the first chunk of a long one.
 */
export const REPLICA_PUT = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])${writeFields("mode ~= 'whole'")}
if n > 0 then push_items(h, 6 + nf, n) end
if h.building then
  save_counts(h, mode)
  return {'ok'}
end
save_counts(h, nil)
align_expiry(h, tonumber(ARGV[1]), tonumber(ARGV[2]))
return {'ok'}
`;

/**
 * ARGV: now, grace, fromVersion, toVersion, retainUntil, firstSeq, nItems, items…: extends a
 * replica exactly one version behind; 'no' (nothing changed) for anything else.
 */
export const REPLICA_APPEND = `
local now = tonumber(ARGV[1])
local h = head()
if not visible(h, now) or h.version ~= tonumber(ARGV[3]) or h.count + 1 ~= tonumber(ARGV[6]) then
  return {'no'}
end
push_items(h, 8, tonumber(ARGV[7]))
h.version = tonumber(ARGV[4])
h.last = now
h.retain = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'version', fmt(h.version), 'updatedAt', ARGV[1], 'lastActiveAt', ARGV[1],
  'itemCount', fmt(h.count), 'tokenCount', fmt(h.tokens), 'itemBytes', fmt(h.bytes), 'retainUntil', ARGV[5])
align_expiry(h, now, tonumber(ARGV[2]))
return {'ok'}
`;

/** ARGV: buildTtl, nItems, items…: the next chunk of a fork or replica being built. */
export const FORK_FILL = `
local h = head()
if not h or not h.building then return {'nf'} end
push_items(h, 3, tonumber(ARGV[2]))
save_counts(h, ARGV[1])
return {'ok'}
`;

/** ARGV: now, grace: makes a built fork visible and gives its keys the session's own expiry. */
export const FORK_DONE = `
local h = head()
if not h or not h.building then return {'nf'} end
redis.call('HDEL', KEYS[1], 'building')
align_expiry(h, tonumber(ARGV[1]), tonumber(ARGV[2]))
return {'ok'}
`;

/**
 * ARGV: now, fromSeq, toSeq. Reply: ok, items fromSeq..toSeq. Items never change once written,
 * so copying a long history chunk by chunk still yields a consistent prefix.
 */
export const FORK_READ = `
local h = head()
if not visible(h, tonumber(ARGV[1])) then return {'nf'} end
local from = tonumber(ARGV[2])
local to = tonumber(ARGV[3])
if to > h.count then return {'short'} end
if to < from then return {'ok', {}} end
return {'ok', redis.call('LRANGE', KEYS[2], from - 1, to - 1)}
`;
