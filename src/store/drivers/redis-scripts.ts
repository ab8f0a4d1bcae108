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

export const PRELUDE = `
-- The session's five keys. Every function below reads K, so a batch can point it at each
-- append's keys in turn (APPEND_BATCH); single-session scripts leave it at KEYS.
local K = KEYS

-- One read of everything a script needs from the session hash (nil when the session is missing).
local function head()
  local v = redis.call('HMGET', K[1], 'lastActiveAt', 'idleTtlMs', 'expiresAt', 'version',
    'itemCount', 'tokenCount', 'itemBytes', 'ttl', 'createdAt', 'building', 'retainUntil')
  if not v[1] then return nil end
  return { last = tonumber(v[1]), idle = tonumber(v[2]), exp = tonumber(v[3]), version = tonumber(v[4]),
    count = tonumber(v[5]), tokens = tonumber(v[6]), bytes = tonumber(v[7]), ttl = v[8], created = v[9],
    building = v[10], retain = tonumber(v[11]) }
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

/**
 * ARGV: now, grace, mode, nFields, fields…, nItems, items…. mode: 'create' (initial items count
 * as a mutation), 'fork' (a complete fork) or a build TTL in ms (first chunk of a large fork: the
 * session stays invisible, and expires unless finished, until hfForkDone).
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists', redis.call('HGET', KEYS[1], 'createdAt')} end
local mode = ARGV[3]
local nf = tonumber(ARGV[4])
local f = {}
for i = 1, nf do f[i] = ARGV[4 + i] end
if mode ~= 'create' and mode ~= 'fork' then
  f[#f + 1] = 'building'
  f[#f + 1] = '1'
  f[#f + 1] = 'ttl'
  f[#f + 1] = '1'
end
redis.call('HSET', KEYS[1], unpack(f))
local h = head()
local n = tonumber(ARGV[5 + nf])
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
const REPLICA_PUT = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local mode = ARGV[3]
local nf = tonumber(ARGV[4])
local f = {}
for i = 1, nf do f[i] = ARGV[4 + i] end
if mode ~= 'whole' then
  f[#f + 1] = 'building'
  f[#f + 1] = '1'
  f[#f + 1] = 'ttl'
  f[#f + 1] = '1'
end
redis.call('HSET', KEYS[1], unpack(f))
local h = head()
local n = tonumber(ARGV[5 + nf])
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
const REPLICA_APPEND = `
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
const FORK_FILL = `
local h = head()
if not h or not h.building then return {'nf'} end
push_items(h, 3, tonumber(ARGV[2]))
save_counts(h, ARGV[1])
return {'ok'}
`;

/** ARGV: now, grace: makes a built fork visible and gives its keys the session's own expiry. */
const FORK_DONE = `
local h = head()
if not h or not h.building then return {'nf'} end
redis.call('HDEL', KEYS[1], 'building')
align_expiry(h, tonumber(ARGV[1]), tonumber(ARGV[2]))
return {'ok'}
`;

/** ARGV: now, grace, expectedVersion|'', operationId|'', payloadHash, nItems, items… */
/**
 * One append whose arguments start after ARGV[a]: now, grace, expectedVersion, operationId,
 * payloadHash, nItems, items…. Every check comes before the first write, so an append that
 * is refused writes nothing.
 */
const APPEND_ONE = `
local function append_one(a)
  local now = tonumber(ARGV[a + 1])
  local h = head()
  if not visible(h, now) then return {'nf'} end
  local op = ARGV[a + 4]
  if op ~= '' then
    local rec = redis.call('HGET', K[5], op)
    if rec then
      local hash, first, last, ver = string.match(rec, '^(.*)|(%d+)|(%d+)|(%d+)$')
      if hash ~= ARGV[a + 5] then return {'idem'} end
      return {'replay', tonumber(ver), tonumber(first), redis.call('LRANGE', K[2], first - 1, last - 1)}
    end
  end
  if ARGV[a + 3] ~= '' and tonumber(ARGV[a + 3]) ~= h.version then return {'ver', h.version} end
  local n = tonumber(ARGV[a + 6])
  local ids = {}
  for k = 0, n - 1 do ids[k + 1] = ARGV[a + 7 + k * 4] end
  local taken = redis.call('HMGET', K[4], unpack(ids))
  for k = 1, n do
    if taken[k] then return {'dup', ids[k]} end
  end
  local first, last = push_items(h, a + 7, n)
  h.version = h.version + 1
  h.last = now
  redis.call('HSET', K[1], 'version', fmt(h.version), 'updatedAt', ARGV[a + 1], 'lastActiveAt', ARGV[a + 1],
    'itemCount', fmt(h.count), 'tokenCount', fmt(h.tokens), 'itemBytes', fmt(h.bytes))
  if op ~= '' then
    redis.call('HSET', K[5], op, ARGV[a + 5] .. '|' .. string.format('%d|%d|%d', first, last, h.version))
  end
  align_expiry(h, now, tonumber(ARGV[a + 2]))
  return {'ok', h.version, first, last}
end
`;

/** ARGV: now, grace, expectedVersion, operationId, payloadHash, nItems, items…. */
const APPEND = `
return append_one(0)
`;

/**
 * Several appends in one script, each with its own five keys (KEYS[5j-4..5j]) and its own
 * arguments laid out as for APPEND, after ARGV[1] = the number of appends. They run one after
 * the other exactly as separate scripts would (each with its own version, duplicate-id and
 * idempotency checks and its own reply); a Redis error inside one append becomes that
 * append's {'err', message} reply instead of aborting the others. Standalone Redis only: on
 * Cluster the keys of different sessions live in different slots.
 */
const APPEND_BATCH = `
local m = tonumber(ARGV[1])
local out = {}
local a = 1
for j = 1, m do
  K = { KEYS[5 * j - 4], KEYS[5 * j - 3], KEYS[5 * j - 2], KEYS[5 * j - 1], KEYS[5 * j] }
  local ok, reply = pcall(append_one, a)
  if ok then
    out[j] = reply
  else
    out[j] = { 'err', type(reply) == 'table' and tostring(reply.err) or tostring(reply) }
  end
  a = a + 6 + 4 * tonumber(ARGV[a + 6])
end
return out
`;

/**
 * One claimed append whose arguments start after ARGV[a]: holder, until, release ('1' or ''),
 * then the append's arguments exactly as for APPEND. The turn claim (driver.ts
 * DriverAppend.claim) lives in the session hash (claimHolder, claimUntil), so it expires and
 * goes with the session's keys. Another holder's unexpired claim refuses the append ('busy')
 * before anything is written; an append that commits or replays leaves the claim with the
 * holder, or released.
 */
const APPEND_CLAIMED_FN = `
local function append_claimed(a)
  local now = tonumber(ARGV[a + 4])
  if not visible(head(), now) then return {'nf'} end
  local c = redis.call('HMGET', K[1], 'claimHolder', 'claimUntil')
  if c[1] and c[1] ~= ARGV[a + 1] and tonumber(c[2]) > now then return {'busy'} end
  local r = append_one(a + 3)
  if r[1] == 'ok' or r[1] == 'replay' then
    if ARGV[a + 3] == '1' then redis.call('HDEL', K[1], 'claimHolder', 'claimUntil')
    else redis.call('HSET', K[1], 'claimHolder', ARGV[a + 1], 'claimUntil', ARGV[a + 2]) end
  end
  return r
end
`;

/** ARGV: holder, until, release, then the append's arguments as for APPEND. */
const APPEND_CLAIMED = `
return append_claimed(0)
`;

/**
 * APPEND_BATCH for a tick that holds claimed appends: every append's arguments start with the
 * claim triple (holder '' for a plain append), then its arguments as for APPEND.
 */
const APPEND_CLAIMED_BATCH = `
local m = tonumber(ARGV[1])
local out = {}
local a = 1
for j = 1, m do
  K = { KEYS[5 * j - 4], KEYS[5 * j - 3], KEYS[5 * j - 2], KEYS[5 * j - 1], KEYS[5 * j] }
  local ok, reply
  if ARGV[a + 1] == '' then ok, reply = pcall(append_one, a + 3) else ok, reply = pcall(append_claimed, a) end
  if ok then
    out[j] = reply
  else
    out[j] = { 'err', type(reply) == 'table' and tostring(reply.err) or tostring(reply) }
  end
  a = a + 9 + 4 * tonumber(ARGV[a + 9])
end
return out
`;

/** ARGV: now, holder, until. Reply: 1 when the holder's claim was extended, else 0. */
const CLAIM_RENEW = `
if not visible(head(), tonumber(ARGV[1])) then return 0 end
if redis.call('HGET', K[1], 'claimHolder') ~= ARGV[2] then return 0 end
redis.call('HSET', K[1], 'claimUntil', ARGV[3])
return 1
`;

/** ARGV: holder. Clears the claim when the holder has it. */
const CLAIM_RELEASE = `
if redis.call('HGET', K[1], 'claimHolder') == ARGV[1] then
  redis.call('HDEL', K[1], 'claimHolder', 'claimUntil')
end
return 1
`;

/** ARGV: now, grace, expectedVersion|'', field, value, … */
const UPDATE = `
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
const DELETE = `
local h = head()
if not visible(h, tonumber(ARGV[1])) then return {'nf'} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= h.version then return {'ver', h.version} end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {'ok', h.created}
`;

/** ARGV: now, grace */
const TOUCH = `
local now = tonumber(ARGV[1])
local h = head()
if not visible(h, now) then return {'nf'} end
redis.call('HSET', KEYS[1], 'lastActiveAt', ARGV[1])
h.last = now
align_expiry(h, now, tonumber(ARGV[2]))
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/**
 * ARGV: now, afterSeq, beforeSeq|'', limit, order. Reply: ok, firstSeq, items (ascending, one
 * slot per seq from firstSeq; '' is the gap of a deleted item, which callers skip).
 */
const READ_ITEMS = `
local h = head()
if not visible(h, tonumber(ARGV[1])) then return {'nf'} end
local lo = tonumber(ARGV[2]) + 1
local hi = h.count
if ARGV[3] ~= '' then hi = math.min(hi, tonumber(ARGV[3]) - 1) end
if lo > hi then return {'ok', lo, {}} end
local limit = tonumber(ARGV[4])
if tonumber(redis.call('HGET', KEYS[1], 'deletedItems') or '0') == 0 then
  if ARGV[5] == 'desc' then lo = math.max(lo, hi - limit + 1) else hi = math.min(hi, lo + limit - 1) end
  return {'ok', lo, redis.call('LRANGE', KEYS[2], lo - 1, hi - 1)}
end
-- Gaps: read on until the page holds limit live items or the range ends.
local need = limit
if ARGV[5] ~= 'desc' then
  local out = {}
  local pos = lo
  while pos <= hi and need > 0 do
    local to = math.min(hi, pos + need - 1)
    local chunk = redis.call('LRANGE', KEYS[2], pos - 1, to - 1)
    for i = 1, #chunk do
      out[#out + 1] = chunk[i]
      if chunk[i] ~= '' then
        need = need - 1
        if need == 0 then break end
      end
    end
    pos = to + 1
  end
  return {'ok', lo, out}
end
local rev = {}
local pos = hi
while pos >= lo and need > 0 do
  local from = math.max(lo, pos - need + 1)
  local chunk = redis.call('LRANGE', KEYS[2], from - 1, pos - 1)
  for i = #chunk, 1, -1 do
    rev[#rev + 1] = chunk[i]
    if chunk[i] ~= '' then
      need = need - 1
      if need == 0 then break end
    end
  end
  pos = from - 1
end
local out = {}
for i = #rev, 1, -1 do out[#out + 1] = rev[i] end
return {'ok', hi - #rev + 1, out}
`;

/**
 * ARGV: now, grace, expectedVersion|'', nIds, ids…: deletes items (all or none). Each slot
 * becomes '' so later items keep their seqs; their running totals in the cum zset drop by the
 * removed tokens, so windows stay exact. itemCount stays the seq high-water mark and
 * deletedItems counts the gaps. Reply: ok, session fields | nif, id.
 */
const DELETE_ITEMS = `
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
    if string.byte(raw, 1) == 91 then t = cjson.decode(raw) else t = cmsgpack.unpack(raw) end
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

/** ARGV: now, itemId. Reply: ok, seq, item. */
const GET_ITEM = `
if not visible(head(), tonumber(ARGV[1])) then return {'nf'} end
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
local h = head()
if not visible(h, tonumber(ARGV[1])) then return {'nf'} end
local floor = h.tokens - tonumber(ARGV[2])
local start = 1
if floor > 0 then
  local hit = redis.call('ZRANGEBYSCORE', KEYS[3], fmt(floor), '+inf', 'LIMIT', 0, 1)
  start = tonumber(hit[1]) + 1
end
return {'ok', start, redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], start - 1, -1)}
`;

/**
 * ARGV: now, fromSeq, toSeq. Reply: ok, items fromSeq..toSeq. Items never change once written,
 * so copying a long history chunk by chunk still yields a consistent prefix.
 */
const FORK_READ = `
local h = head()
if not visible(h, tonumber(ARGV[1])) then return {'nf'} end
local from = tonumber(ARGV[2])
local to = tonumber(ARGV[3])
if to > h.count then return {'short'} end
if to < from then return {'ok', {}} end
return {'ok', redis.call('LRANGE', KEYS[2], from - 1, to - 1)}
`;

/** Script name → Lua source (prelude included). All take the five session keys. */
export const SCRIPTS = Object.freeze({
  hfCreate: PRELUDE + CREATE,
  hfAppend: PRELUDE + APPEND_ONE + APPEND,
  hfAppendClaimed: PRELUDE + APPEND_ONE + APPEND_CLAIMED_FN + APPEND_CLAIMED,
  hfClaimRenew: PRELUDE + CLAIM_RENEW,
  hfClaimRelease: PRELUDE + CLAIM_RELEASE,
  hfUpdate: PRELUDE + UPDATE,
  hfDelete: PRELUDE + DELETE,
  hfTouch: PRELUDE + TOUCH,
  hfReadItems: PRELUDE + READ_ITEMS,
  hfGetItem: PRELUDE + GET_ITEM,
  hfDeleteItems: PRELUDE + DELETE_ITEMS,
  hfWindow: PRELUDE + WINDOW,
  hfForkRead: PRELUDE + FORK_READ,
  hfForkFill: PRELUDE + FORK_FILL,
  hfForkDone: PRELUDE + FORK_DONE,
  hfReplicaPut: PRELUDE + REPLICA_PUT,
  hfReplicaAppend: PRELUDE + REPLICA_APPEND,
});

export type ScriptName = keyof typeof SCRIPTS;

/** The batched append: its key count varies (5 per append), so it is defined without one. */
export const APPEND_BATCH_SCRIPT = PRELUDE + APPEND_ONE + APPEND_BATCH;

/** The batched append of a tick with claimed appends (each append led by its claim triple). */
export const APPEND_CLAIMED_BATCH_SCRIPT = PRELUDE + APPEND_ONE + APPEND_CLAIMED_FN + APPEND_CLAIMED_BATCH;

/** Keys every script declares (KEYS[1..5]). */
export const SCRIPT_KEY_COUNT = 5;
