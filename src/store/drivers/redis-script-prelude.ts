/**
 * The Lua prelude every Redis driver script starts with: the session head read, visibility,
 * expiry alignment and the item push/counter helpers (key layout and statuses: redis-scripts.ts).
 */

export const PRELUDE = `
-- The session's five keys. Every function below reads K, so a batch can point it at each
-- append's keys in turn (APPEND_BATCH); single-session scripts leave it at KEYS.
local K = KEYS

-- One read of everything a script needs from the session hash (nil when the session is missing).
local function head()
  local v = redis.call('HMGET', K[1], 'lastActiveAt', 'idleTtlMs', 'expiresAt', 'version',
    'itemCount', 'tokenCount', 'itemBytes', 'ttl', 'createdAt', 'building', 'retainUntil', 'status')
  if not v[1] then return nil end
  return { last = tonumber(v[1]), idle = tonumber(v[2]), exp = tonumber(v[3]), version = tonumber(v[4]),
    count = tonumber(v[5]), tokens = tonumber(v[6]), bytes = tonumber(v[7]), ttl = v[8], created = v[9],
    building = v[10], retain = tonumber(v[11]), status = v[12] }
end

-- A copy still being built (fork, replica) is invisible, like a missing session; so is a
-- replica past its retainUntil (tiered stores keep only active sessions hot).
local function visible(h, now)
  if not h or h.building then return false end
  if h.retain and h.retain <= now then return false end
  if h.idle and h.last + h.idle <= now then return false end
  if h.exp and h.exp <= now then return false end
  return true
end

local function fmt(n) return string.format('%d', n) end

-- After a write: every key expires grace ms after the session's deadline (relative to the core's now).
local function align_expiry(h, now, grace)
  local deadline = nil
  if h.idle then deadline = h.last + h.idle end
  if h.exp and (deadline == nil or h.exp < deadline) then deadline = h.exp end
  if h.retain and (deadline == nil or h.retain < deadline) then deadline = h.retain end
  if deadline then
    local ttl = deadline - now + grace
    if ttl < 1 then ttl = 1 end
    ttl = fmt(ttl)
    for i = 1, 5 do redis.call('PEXPIRE', K[i], ttl) end
    if h.ttl ~= '1' then redis.call('HSET', K[1], 'ttl', '1') end
  elseif h.ttl == '1' then
    for i = 1, 5 do redis.call('PERSIST', K[i]) end
    redis.call('HSET', K[1], 'ttl', '0')
  end
end

-- Items come as 4 ARGV each from index at: id, tokens, bytes, encoded record. Updates h's counters;
-- the caller writes them to the session hash. An empty id is the gap of a deleted item (copies of
-- a session with deleted items): its slot holds '' so every later item keeps its seq.
local function push_items(h, at, n)
  local first = h.count + 1
  local i = 0
  while i < n do
    local stop = math.min(n, i + 500)
    local encs, zs, ids = {}, {}, {}
    for k = i, stop - 1 do
      local a = at + k * 4
      local seq = first + k
      if ARGV[a] == '' then
        encs[#encs + 1] = ''
        h.gaps = (h.gaps or 0) + 1
      else
        h.tokens = h.tokens + tonumber(ARGV[a + 1])
        h.bytes = h.bytes + tonumber(ARGV[a + 2])
        encs[#encs + 1] = ARGV[a + 3]
        zs[#zs + 1] = fmt(h.tokens)
        zs[#zs + 1] = string.format('%012d', seq)
        ids[#ids + 1] = ARGV[a]
        ids[#ids + 1] = fmt(seq)
      end
    end
    redis.call('RPUSH', K[2], unpack(encs))
    if #zs > 0 then
      redis.call('ZADD', K[3], unpack(zs))
      redis.call('HSET', K[4], unpack(ids))
    end
    i = stop
  end
  h.count = h.count + n
  return first, h.count
end

-- Writes pushed counters back and, for a fork being built, keeps every key on the build TTL.
local function save_counts(h, build_ttl)
  if h.gaps then
    redis.call('HINCRBY', K[1], 'deletedItems', h.gaps)
    h.gaps = nil
  end
  redis.call('HSET', K[1], 'itemCount', fmt(h.count), 'tokenCount', fmt(h.tokens),
    'itemBytes', fmt(h.bytes), 'version', fmt(h.version))
  if build_ttl then
    for i = 1, 5 do redis.call('PEXPIRE', K[i], build_ttl) end
  end
end
`;
