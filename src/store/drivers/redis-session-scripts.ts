/** Lua for the session's own writes besides appends: update, delete, touch and item deletion. */

/** ARGV: now, grace, expectedVersion|'', field, value, … */
export const UPDATE = `
local now = tonumber(ARGV[1])
local h = head()
if not visible(h, now) then return {'nf'} end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= h.version then return {'ver', h.version} end
local f = {}
for i = 4, #ARGV do f[#f + 1] = ARGV[i] end
f[#f + 1] = 'version'
f[#f + 1] = fmt(h.version + 1)
f[#f + 1] = 'updatedAt'
f[#f + 1] = ARGV[1]
redis.call('HSET', KEYS[1], unpack(f))
align_expiry(head(), now, tonumber(ARGV[2]))
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/** ARGV: now, expectedVersion|'' */
export const DELETE = `
local h = head()
if not visible(h, tonumber(ARGV[1])) then return {'nf'} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= h.version then return {'ver', h.version} end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {'ok', h.created}
`;

/** ARGV: now, grace */
export const TOUCH = `
local now = tonumber(ARGV[1])
local h = head()
if not visible(h, now) then return {'nf'} end
redis.call('HSET', KEYS[1], 'lastActiveAt', ARGV[1])
h.last = now
align_expiry(h, now, tonumber(ARGV[2]))
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: now, grace, expectedVersion|'', nIds, ids…: deletes items (all or none). Each slot
 * becomes '' so later items keep their seqs; their running totals in the cum zset drop by the
 * removed tokens, so windows stay exact. itemCount stays the seq high-water mark and
 * deletedItems counts the gaps. Reply: ok, session fields | nif, id.
 */
export const DELETE_ITEMS = `
local now = tonumber(ARGV[1])
local h = head()
if not visible(h, now) then return {'nf'} end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= h.version then return {'ver', h.version} end
local n = tonumber(ARGV[4])
local ids = {}
for k = 1, n do ids[k] = ARGV[4 + k] end
local seqs = redis.call('HMGET', K[4], unpack(ids))
for k = 1, n do
  if not seqs[k] then return {'nif', ids[k]} end
end
local deleted = 0
for k = 1, n do
  local seq = tonumber(seqs[k])
  local raw = redis.call('LINDEX', K[2], seq - 1)
  if raw and raw ~= '' then
    -- The record's tuple: id, type, role, status, tokens, bytes, … (JSON or MessagePack).
    local t
    if string.byte(raw, 1) == 91 then
      local ok, decoded = pcall(cjson.decode, raw)
      -- cjson refuses an unpaired surrogate escape (JSON.stringify writes one for a lone
      -- surrogate); blanking every surrogate escape keeps the JSON valid and the numbers read.
      if not ok then decoded = cjson.decode((string.gsub(raw, '\\\\u[dD][89a-fA-F]%x%x', '\\\\u0000'))) end
      t = decoded
    else
      t = cmsgpack.unpack(raw)
    end
    local tokens = tonumber(t[5])
    h.tokens = h.tokens - tokens
    h.bytes = h.bytes - tonumber(t[6])
    deleted = deleted + 1
    local member = string.format('%012d', seq)
    if tokens > 0 then
      local score = redis.call('ZSCORE', K[3], member)
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', K[3], score, '+inf')) do
        if m > member then redis.call('ZINCRBY', K[3], fmt(-tokens), m) end
      end
    end
    redis.call('ZREM', K[3], member)
    redis.call('HDEL', K[4], ids[k])
    redis.call('LSET', K[2], seq - 1, '')
  end
end
h.version = h.version + 1
redis.call('HINCRBY', K[1], 'deletedItems', deleted)
redis.call('HSET', K[1], 'version', fmt(h.version), 'updatedAt', ARGV[1], 'tokenCount', fmt(h.tokens),
  'itemBytes', fmt(h.bytes))
align_expiry(h, now, tonumber(ARGV[2]))
return {'ok', redis.call('HGETALL', K[1])}
`;
