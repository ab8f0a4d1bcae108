/**
 * Shared token buckets in Redis: ONE Lua script per check reads, refills and takes from every
 * bucket atomically using the Redis server clock, so any number of Holdfast instances enforce
 * one limit. Keys carry a `{tenant}` hash tag (all buckets of a check share a Cluster slot).
 * The daily spend totals live beside them: `{tenant}:spend:YYYY-MM-DD`, integer nano-dollars.
 */
import type { Cluster, Redis } from "ioredis";
import { UnavailableError } from "../../store/errors.ts";
import {
  type BucketSpec,
  checkSpendDay,
  type RateLimitBackend,
  SPEND_UNITS_PER_USD,
  type SpendCounter,
  spendUnits,
  type TakeResult,
} from "./backend.ts";

/**
 * KEYS: buckets. ARGV: capacity, cost per bucket. Returns {0,0} or {index (1-based), retryAfterMs}
 * of the short bucket that refills last (a retry after an earlier one's wait would fail again).
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local short = 0
local wait = 0
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 2 - 1])
  local cost = tonumber(ARGV[i * 2])
  local rate = cap / 60000
  local v = redis.call('HMGET', KEYS[i], 'tk', 'ts')
  local tokens = tonumber(v[1])
  local ts = tonumber(v[2])
  if tokens == nil or ts == nil then tokens = cap ts = now end
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
  if tokens < cost then
    local ms = math.ceil((cost - tokens) / rate)
    if short == 0 or ms > wait then short = i wait = ms end
  end
  levels[i] = tokens
end
if short > 0 then return {short, wait} end
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 2 - 1])
  local left = levels[i] - tonumber(ARGV[i * 2])
  redis.call('HSET', KEYS[i], 'tk', tostring(left), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil((cap - left) / (cap / 60000)) + 1000)
end
return {0, 0}
`;

/** KEYS[1]: bucket. ARGV: capacity, delta. */
const ADJUST = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local rate = cap / 60000
local v = redis.call('HMGET', KEYS[1], 'tk', 'ts')
local tokens = tonumber(v[1])
local ts = tonumber(v[2])
if tokens == nil or ts == nil then tokens = cap ts = now end
tokens = math.min(cap, math.min(cap, tokens + math.max(0, now - ts) * rate) + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'tk', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / rate) + 1000)
return 1
`;

/**
 * KEYS[1]: a tenant's spend total for one day. ARGV: nano-dollars, TTL in seconds. INCRBY on
 * integers, not INCRBYFLOAT on dollars: a float total drifts (and INCRBYFLOAT rounds to 17
 * digits). The TTL is renewed on every add, so a day's total outlives its day.
 */
const ADD_SPEND = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return total
`;

/** A day's total is kept two days past its last add: it is only read on its own day. */
const SPEND_TTL_SECONDS = 2 * 86_400;

interface ScriptedRedis {
  hfRateTake(numKeys: number, ...args: (string | number)[]): Promise<[number, number]>;
  hfRateAdjust(key: string, capacity: number, delta: number): Promise<number>;
  hfSpendAdd(key: string, units: number, ttlSeconds: number): Promise<number>;
}

export interface RedisRateLimitOptions {
  /**
   * An ioredis client or Cluster (`createRateLimitRedisClient` builds one). The caller owns it
   * unless `closeClient`.
   */
  redis: Redis | Cluster;
  /** Prefix of every key, e.g. `holdfast:rl:`. */
  prefix?: string;
  /** Quit the client on `close()` (default false). */
  closeClient?: boolean;
}

/**
 * A limit that cannot be checked is the server's fault and passes once Redis is back: a typed
 * `unavailable` (503, retry later), not the client's raw error (an `internal` 500).
 */
function unavailable(error: unknown): UnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new UnavailableError(`The rate-limit Redis is unavailable (${reason}); retry shortly.`, {
    cause: error,
  });
}

export function createRedisRateLimitBackend(options: RedisRateLimitOptions): RateLimitBackend & SpendCounter {
  const { redis } = options;
  const prefix = options.prefix ?? "holdfast:rl:";
  const client = redis as unknown as (Redis | Cluster) & ScriptedRedis;
  if (typeof client.hfRateTake !== "function") {
    redis.defineCommand("hfRateTake", { lua: TAKE });
    redis.defineCommand("hfRateAdjust", { lua: ADJUST, numberOfKeys: 1 });
  }
  if (typeof client.hfSpendAdd !== "function") {
    redis.defineCommand("hfSpendAdd", { lua: ADD_SPEND, numberOfKeys: 1 });
  }
  // The same `{tenant}` hash tag as the buckets: a Cluster keeps a tenant's keys in one slot.
  const spendKey = (tenant: string, day: string): string =>
    `${prefix}{${tenant}}:spend:${checkSpendDay(day)}`;
  return Object.freeze({
    name: "redis",
    async take(specs: readonly BucketSpec[]): Promise<TakeResult> {
      const args: (string | number)[] = [];
      for (const spec of specs) args.push(`${prefix}${spec.key}`);
      for (const spec of specs) args.push(spec.capacity, spec.cost);
      const [index, retryAfterMs] = await client.hfRateTake(specs.length, ...args).catch((error: unknown) => {
        throw unavailable(error);
      });
      return index === 0 ? { ok: true } : { ok: false, index: index - 1, retryAfterMs };
    },
    async adjust(spec: BucketSpec, delta: number): Promise<void> {
      await client.hfRateAdjust(`${prefix}${spec.key}`, spec.capacity, delta).catch((error: unknown) => {
        throw unavailable(error);
      });
    },
    async addSpend(tenant: string, day: string, usd: number): Promise<void> {
      const key = spendKey(tenant, day);
      const units = spendUnits(usd);
      if (units === 0) return;
      await client.hfSpendAdd(key, units, SPEND_TTL_SECONDS).catch((error: unknown) => {
        throw unavailable(error);
      });
    },
    async spentOn(tenant: string, day: string): Promise<number> {
      const key = spendKey(tenant, day);
      const total = await redis.get(key).catch((error: unknown) => {
        throw unavailable(error);
      });
      return total === null ? 0 : Number(total) / SPEND_UNITS_PER_USD;
    },
    async close(): Promise<void> {
      if (options.closeClient) await redis.quit();
    },
  });
}
