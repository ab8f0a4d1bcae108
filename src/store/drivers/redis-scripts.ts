/**
 * The Lua scripts of the Redis driver. Each mutation is one script, so version check,
 * idempotency record, item append, counters and key expiry commit together or not at all.
 * Every script receives the five keys of one session (same hash slot) as KEYS[1..5]:
 * meta (hash), items (list, index = seq - 1), cum (zset: zero-padded seq scored by the
 * running token total), ids (hash item id → seq), ops (hash operation id → result).
 *
 * Scripts never read Redis' clock: `now` comes from the core (ARGV[1]) and decides
 * visibility exactly like drivers/shared.ts. Native expiry is set relative to that `now`
 * (deadline - now + grace), so it follows the session's idle/absolute TTL whatever the skew
 * between the app's clock and Redis'. Replies start with a status string the driver maps to
 * typed errors: ok | nf (not found) | ver (version moved) | dup (item id taken) |
 * idem (operation id reused with another payload) | exists | nif (no such item) | replay.
 */

const PRELUDE = `
local function visible(now)
  local v = redis.call('HMGET', KEYS[1], 'lastActiveAt', 'idleTtlMs', 'expiresAt')
  if not v[1] then return false end
  local idle = tonumber(v[2])
  local exp = tonumber(v[3])
  if idle and tonumber(v[1]) + idle <= now then return false end
  if exp and exp <= now then return false end
  return true
end

local function align_expiry(now, grace)
  local v = redis.call('HMGET', KEYS[1], 'lastActiveAt', 'idleTtlMs', 'expiresAt', 'ttl')
  local idle = tonumber(v[2])
  local exp = tonumber(v[3])
  local deadline = nil
  if idle then deadline = tonumber(v[1]) + idle end
  if exp and (deadline == nil or exp < deadline) then deadline = exp end
  if deadline then
    local ttl = deadline - now + grace
    if ttl < 1 then ttl = 1 end
    ttl = string.format('%d', ttl)
    for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
    if v[4] ~= '1' then redis.call('HSET', KEYS[1], 'ttl', '1') end
  elseif v[4] == '1' then
    for i = 1, 5 do redis.call('PERSIST', KEYS[i]) end
    redis.call('HSET', KEYS[1], 'ttl', '0')
  end
end

-- Items come as 4 ARGV each from index at: id, tokens, bytes, encoded record.
local function push_items(at, n)
  local count = tonumber(redis.call('HGET', KEYS[1], 'itemCount'))
  local cum = tonumber(redis.call('HGET', KEYS[1], 'tokenCount'))
  local bytes = 0
  local i = 0
  while i < n do
    local stop = math.min(n, i + 500)
    local encs, zs, ids = {}, {}, {}
    for k = i, stop - 1 do
      local a = at + k * 4
      local seq = count + k + 1
      cum = cum + tonumber(ARGV[a + 1])
      bytes = bytes + tonumber(ARGV[a + 2])
      encs[#encs + 1] = ARGV[a + 3]
      zs[#zs + 1] = string.format('%d', cum)
      zs[#zs + 1] = string.format('%012d', seq)
      ids[#ids + 1] = ARGV[a]
      ids[#ids + 1] = string.format('%d', seq)
    end
    redis.call('RPUSH', KEYS[2], unpack(encs))
    redis.call('ZADD', KEYS[3], unpack(zs))
    redis.call('HSET', KEYS[4], unpack(ids))
    i = stop
  end
  redis.call('HSET', KEYS[1], 'itemCount', string.format('%d', count + n), 'tokenCount', string.format('%d', cum))
  redis.call('HINCRBY', KEYS[1], 'itemBytes', string.format('%d', bytes))
  return count + 1, count + n
end
`;

/** ARGV: now, grace, bump ('1': initial items count as a mutation; '0' for forks), nFields, fields…, nItems, items… */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists', redis.call('HGET', KEYS[1], 'createdAt')} end
local nf = tonumber(ARGV[4])
local f = {}
for i = 1, nf do f[i] = ARGV[4 + i] end
redis.call('HSET', KEYS[1], unpack(f))
local n = tonumber(ARGV[5 + nf])
if n > 0 then
  push_items(6 + nf, n)
  if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'version', 1) end
end
align_expiry(tonumber(ARGV[1]), tonumber(ARGV[2]))
return {'ok'}
`;

/** ARGV: now, grace, expectedVersion|'', operationId|'', payloadHash, nItems, items… */
const APPEND = `
local now = tonumber(ARGV[1])
if not visible(now) then return {'nf'} end
local op = ARGV[4]
if op ~= '' then
  local rec = redis.call('HGET', KEYS[5], op)
  if rec then
    local hash, first, last, ver = string.match(rec, '^(.*)|(%d+)|(%d+)|(%d+)$')
    if hash ~= ARGV[5] then return {'idem'} end
    return {'replay', tonumber(ver), tonumber(first), redis.call('LRANGE', KEYS[2], first - 1, last - 1)}
  end
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version'))
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then return {'ver', version} end
local n = tonumber(ARGV[6])
for k = 0, n - 1 do
  if redis.call('HEXISTS', KEYS[4], ARGV[7 + k * 4]) == 1 then return {'dup', ARGV[7 + k * 4]} end
end
local first, last = push_items(7, n)
version = version + 1
redis.call('HSET', KEYS[1], 'version', string.format('%d', version), 'updatedAt', ARGV[1], 'lastActiveAt', ARGV[1])
if op ~= '' then
  redis.call('HSET', KEYS[5], op, ARGV[5] .. '|' .. string.format('%d|%d|%d', first, last, version))
end
align_expiry(now, tonumber(ARGV[2]))
return {'ok', version, first, last}
`;

/** ARGV: now, grace, expectedVersion|'', field, value, … */
const UPDATE = `
local now = tonumber(ARGV[1])
if not visible(now) then return {'nf'} end
local version = tonumber(redis.call('HGET', KEYS[1], 'version'))
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then return {'ver', version} end
local f = {}
for i = 4, #ARGV do f[#f + 1] = ARGV[i] end
f[#f + 1] = 'version'
f[#f + 1] = string.format('%d', version + 1)
f[#f + 1] = 'updatedAt'
f[#f + 1] = ARGV[1]
redis.call('HSET', KEYS[1], unpack(f))
align_expiry(now, tonumber(ARGV[2]))
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/** ARGV: now, expectedVersion|'' */
const DELETE = `
if not visible(tonumber(ARGV[1])) then return {'nf'} end
local version = tonumber(redis.call('HGET', KEYS[1], 'version'))
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= version then return {'ver', version} end
local created = redis.call('HGET', KEYS[1], 'createdAt')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {'ok', created}
`;

/** ARGV: now, grace */
const TOUCH = `
local now = tonumber(ARGV[1])
if not visible(now) then return {'nf'} end
redis.call('HSET', KEYS[1], 'lastActiveAt', ARGV[1])
align_expiry(now, tonumber(ARGV[2]))
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/** ARGV: now, afterSeq, beforeSeq|'', limit, order. Reply: ok, firstSeq, items (ascending). */
const READ_ITEMS = `
if not visible(tonumber(ARGV[1])) then return {'nf'} end
local lo = tonumber(ARGV[2]) + 1
local hi = tonumber(redis.call('HGET', KEYS[1], 'itemCount'))
if ARGV[3] ~= '' then hi = math.min(hi, tonumber(ARGV[3]) - 1) end
if lo > hi then return {'ok', lo, {}} end
local limit = tonumber(ARGV[4])
if ARGV[5] == 'desc' then lo = math.max(lo, hi - limit + 1) else hi = math.min(hi, lo + limit - 1) end
return {'ok', lo, redis.call('LRANGE', KEYS[2], lo - 1, hi - 1)}
`;

/** ARGV: now, itemId. Reply: ok, seq, item. */
const GET_ITEM = `
if not visible(tonumber(ARGV[1])) then return {'nf'} end
local seq = redis.call('HGET', KEYS[4], ARGV[2])
if not seq then return {'nif'} end
return {'ok', tonumber(seq), redis.call('LINDEX', KEYS[2], tonumber(seq) - 1)}
`;

/**
 * ARGV: now, maxTokens. The window starts after the first item whose running total reaches
 * tokenCount - maxTokens: one O(log n) zset lookup, then a list range from the tail.
 * Reply: ok, firstSeq, session fields, items.
 */
const WINDOW = `
if not visible(tonumber(ARGV[1])) then return {'nf'} end
local meta = redis.call('HGETALL', KEYS[1])
local total = tonumber(redis.call('HGET', KEYS[1], 'tokenCount'))
local floor = total - tonumber(ARGV[2])
local start = 1
if floor > 0 then
  local hit = redis.call('ZRANGEBYSCORE', KEYS[3], string.format('%d', floor), '+inf', 'LIMIT', 0, 1)
  start = tonumber(hit[1]) + 1
end
return {'ok', start, meta, redis.call('LRANGE', KEYS[2], start - 1, -1)}
`;

/** ARGV: now, atSeq. Reply: ok, items 1..atSeq (immutable once written, so a copy is consistent). */
const FORK_READ = `
if not visible(tonumber(ARGV[1])) then return {'nf'} end
local at = tonumber(ARGV[2])
if at > tonumber(redis.call('HGET', KEYS[1], 'itemCount')) then return {'short'} end
if at == 0 then return {'ok', {}} end
return {'ok', redis.call('LRANGE', KEYS[2], 0, at - 1)}
`;

/** Script name → Lua source (prelude included). All take the five session keys. */
export const SCRIPTS = Object.freeze({
  hfCreate: PRELUDE + CREATE,
  hfAppend: PRELUDE + APPEND,
  hfUpdate: PRELUDE + UPDATE,
  hfDelete: PRELUDE + DELETE,
  hfTouch: PRELUDE + TOUCH,
  hfReadItems: PRELUDE + READ_ITEMS,
  hfGetItem: PRELUDE + GET_ITEM,
  hfWindow: PRELUDE + WINDOW,
  hfForkRead: PRELUDE + FORK_READ,
});

export type ScriptName = keyof typeof SCRIPTS;

/** Keys every script declares (KEYS[1..5]). */
export const SCRIPT_KEY_COUNT = 5;
