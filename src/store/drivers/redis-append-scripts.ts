/**
 * Lua for appends: the single append, the claimed append (turn claims) and their batched forms,
 * plus claim renew/release. Each is composed with PRELUDE in redis-scripts.ts.
 */

/**
 * One append whose arguments start after ARGV[a]: now, grace, expectedVersion, operationId,
 * payloadHash, nItems, items…. Every check comes before the first write, so an append that
 * is refused writes nothing.
 */
export const APPEND_ONE = `
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
  -- An archived session's items may be in cold storage (a stub): new seqs would follow missing ones.
  if h.status == 'archived' then return {'arch'} end
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
export const APPEND = `
return append_one(0)
`;

/**
 * One claimed append whose arguments start after ARGV[a]: holder, until, release ('1' or ''),
 * then the append's arguments exactly as for APPEND. The turn claim (driver.ts
 * DriverAppend.claim) lives in the session hash (claimHolder, claimUntil), so it expires and
 * goes with the session's keys. Another holder's unexpired claim refuses the append ('busy')
 * before anything is written; an append that commits or replays leaves the claim with the
 * holder, or released.
 */
export const APPEND_CLAIMED_FN = `
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
export const APPEND_CLAIMED = `
return append_claimed(0)
`;

/**
 * The loop of a batch script: append j runs on its own five keys (KEYS[5j-4..5j]) by `call`
 * (which sets ok, reply from a pcall); `lead` is the number of arguments before its item count,
 * so the next append starts after its items. A Redis error inside one append becomes that
 * append's {'err', message} reply instead of aborting the others.
 */
function batchLoop(call: string, lead: number): string {
  return `
local m = tonumber(ARGV[1])
local out = {}
local a = 1
for j = 1, m do
  K = { KEYS[5 * j - 4], KEYS[5 * j - 3], KEYS[5 * j - 2], KEYS[5 * j - 1], KEYS[5 * j] }
  local ok, reply
  ${call}
  if ok then
    out[j] = reply
  else
    out[j] = { 'err', type(reply) == 'table' and tostring(reply.err) or tostring(reply) }
  end
  a = a + ${lead} + 4 * tonumber(ARGV[a + ${lead}])
end
return out
`;
}

/**
 * Several appends in one script, each with its own five keys and its own arguments laid out as
 * for APPEND, after ARGV[1] = the number of appends. They run one after the other exactly as
 * separate scripts would (each with its own version, duplicate-id and idempotency checks and
 * its own reply). Standalone Redis only: on Cluster the keys of different sessions live in
 * different slots.
 */
export const APPEND_BATCH = batchLoop("ok, reply = pcall(append_one, a)", 6);

/**
 * APPEND_BATCH for a tick that holds claimed appends: every append's arguments start with the
 * claim triple (holder '' for a plain append), then its arguments as for APPEND.
 */
export const APPEND_CLAIMED_BATCH = batchLoop(
  "if ARGV[a + 1] == '' then ok, reply = pcall(append_one, a + 3) else ok, reply = pcall(append_claimed, a) end",
  9,
);

/** ARGV: now, holder, until. Reply: 1 when the holder's claim was extended, else 0. */
export const CLAIM_RENEW = `
if not visible(head(), tonumber(ARGV[1])) then return 0 end
if redis.call('HGET', K[1], 'claimHolder') ~= ARGV[2] then return 0 end
redis.call('HSET', K[1], 'claimUntil', ARGV[3])
return 1
`;

/** ARGV: holder. Clears the claim when the holder has it. */
export const CLAIM_RELEASE = `
if redis.call('HGET', K[1], 'claimHolder') == ARGV[1] then
  redis.call('HDEL', K[1], 'claimHolder', 'claimUntil')
end
return 1
`;
