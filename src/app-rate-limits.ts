/**
 * The rate limits of `holdfast serve` (`rate_limits`, docs/configuration.md): buckets per key and
 * per owner, and the daily spend cap per tenant fed from every finished turn — in process, or in
 * the Redis every instance shares (`rate_limits.redis`), which /readyz then reports on.
 */
import type { FastifyBaseLogger } from "fastify";
import type { RateLimitsConfig } from "./config/rate-limits-config.ts";
import { summarizeError } from "./observability/error-summary.ts";
import { createDailySpend, type DailySpend, type SpentTurn } from "./security/rate-limit/daily-spend.ts";
import { createRateLimiter, type RateLimiter } from "./security/rate-limit/limiter.ts";
import { createMemoryRateLimitBackend } from "./security/rate-limit/memory-backend.ts";
import { createRedisRateLimitBackend } from "./security/rate-limit/redis-backend.ts";
import {
  createRateLimitRedisClient,
  firstConnection,
  type RateLimitRedisTarget,
  rateLimitRedisProblem,
} from "./security/rate-limit/redis-client.ts";
import type { ReadinessCheck } from "./server/routes/health.ts";
import { unlessAborted } from "./unless-aborted.ts";

/** Bound on the rate-limit Redis's first connection attempt at start-up (its connect timeout). */
const RATE_LIMIT_REDIS_CONNECT_MS = 3000;

export interface ServeRateLimitsInput {
  config: RateLimitsConfig;
  redis: RateLimitRedisTarget | null;
  /** Where what this opens registers its closing (run in reverse order). */
  closers: (() => Promise<unknown>)[];
  signal?: AbortSignal | undefined;
}

export interface ServeRateLimits {
  limiter: RateLimiter;
  readiness: ReadinessCheck[];
  notices: string[];
  /** Adds a finished turn's cost to its tenant's day (nothing without a spend cap configured). */
  recordTurn(turn: SpentTurn): void;
  /** Where a turn cost that could not be added is logged, once the server's logger exists. */
  useLogger(log: FastifyBaseLogger): void;
}

export async function openServeRateLimits(input: ServeRateLimitsInput): Promise<ServeRateLimits> {
  const { config, redis: target, closers, signal } = input;
  const notices: string[] = [];
  const readiness: ReadinessCheck[] = [];
  let backend = createMemoryRateLimitBackend();
  if (target) {
    const redis = createRateLimitRedisClient(target);
    // Not quit(): against a Redis that is down it waits for reconnection attempts; nothing
    // pending matters once the server has stopped.
    closers.push(async () => redis.disconnect());
    // Not reachable is no reason to refuse to start (the start needs nothing from it): like the
    // store once running, it is what /readyz reports, 503 naming it until it answers, and
    // rate-limited requests answer 503 meanwhile. Only its first connection attempt is waited
    // for, so a reachable one serves the first requests; a refused one costs no wait.
    const where = target.nodes.map((n) => `${n.host}:${n.port}`).join(",");
    const name = `rate_limits.redis (${target.cluster ? "Redis Cluster" : "Redis"} at ${where})`;
    readiness.push({ name, problem: () => rateLimitRedisProblem(redis) });
    if (!(await unlessAborted(firstConnection(redis, RATE_LIMIT_REDIS_CONNECT_MS), signal)))
      notices.push(`${name} is not reachable yet; /readyz and rate-limited requests answer 503 until it is.`);
    backend = createRedisRateLimitBackend({ redis });
  }

  let log: FastifyBaseLogger | undefined;
  let spend: DailySpend | undefined;
  if (config.spendPerDay) {
    spend = createDailySpend({
      counter: backend,
      perDayUsd: config.spendPerDay.usd,
      perDayUsdByTenant: config.spendPerDay.byTenant,
      // The turn has answered already; its cost is lost to the cap (a Redis outage), so say so.
      onError: (error, turn) =>
        log?.warn(
          { err: summarizeError(error), tenant: turn.tenant, costUsd: turn.costUsd },
          "turn cost not added to the daily spend",
        ),
    });
    const flushing = spend;
    // Pushed after the Redis client's closer, so it runs first: adds in flight reach Redis.
    closers.push(() => flushing.flush());
  }

  const { perKey, perOwner } = config;
  const limiter = createRateLimiter({
    backend,
    ...(perKey ? { perKey } : {}),
    ...(perOwner ? { perOwner } : {}),
    ...(spend ? { spendCap: spend.spendCap } : {}),
  });
  return {
    limiter,
    readiness,
    notices,
    recordTurn: (turn) => spend?.record(turn),
    useLogger: (logger) => {
      log = logger;
    },
  };
}
