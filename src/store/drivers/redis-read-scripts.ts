/** Lua for reads that must see one consistent session: item pages, one item, the token window. */

/**
 * ARGV: now, afterSeq, beforeSeq|'', limit, order. Reply: ok, firstSeq, items (ascending, one
 * slot per seq from firstSeq; '' is the gap of a deleted item, which callers skip).
 */
export const READ_ITEMS = `
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

/** ARGV: now, itemId. Reply: ok, seq, item. */
export const GET_ITEM = `
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
export const WINDOW = `
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
