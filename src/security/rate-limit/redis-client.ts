/**
 * The Redis client behind shared rate limits (`rate_limits.redis`): a single server or a Redis
 * Cluster, every command bounded in time, and a command whose connection dropped never sent again.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";

/** Where the rate-limit Redis is; `parseRateLimitRedis` (src/config) builds it from a URL. */
export interface RateLimitRedisTarget {
  /** A Redis Cluster (`redis+cluster://`): `nodes` are its seed nodes. */
  readonly cluster: boolean;
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** Database number (always 0 on a Cluster). */
  readonly db: number;
  readonly tls: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

export interface RateLimitRedisOptions {
  /** Bound on every command, ms; a check that cannot finish in time answers 503. Default 2000. */
  commandTimeoutMs?: number;
  /** Bound on connecting (and on each reconnection attempt), ms. Default 3000. */
  connectTimeoutMs?: number;
}

export type RateLimitRedisClient = Redis | Cluster;

/** Reconnects forever with a capped backoff: a Redis that comes back is used again without a restart. */
const retryStrategy = (times: number): number => Math.min(50 * times, 1000);

function nodeOptions(target: RateLimitRedisTarget, options: RateLimitRedisOptions): RedisOptions {
  return {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    // Without it a command lost with its connection (never re-sent, below) would wait for ever.
    commandTimeout: options.commandTimeoutMs ?? 2000,
    maxRetriesPerRequest: 2,
    // A check in flight when its connection drops may have run. Sent again after the reconnection
    // it took its tokens twice (an early 429 for a client within its limit), and a check that had
    // already answered 503 on its timeout still took them later. Not re-sent, the check answers
    // 503 and the client's retry is charged once: a lost take costs at most one retried request,
    // a doubled one silently halves the limit. A lost settlement is only logged.
    autoResendUnfulfilledCommands: false,
    retryStrategy,
  };
}

/**
 * Creates the client; it connects in the background. Outages surface as rejected commands (the
 * limiter answers 503 `unavailable`), never as an `error` event that would crash the process.
 */
export function createRateLimitRedisClient(
  target: RateLimitRedisTarget,
  options: RateLimitRedisOptions = {},
): RateLimitRedisClient {
  const client: RateLimitRedisClient = target.cluster
    ? new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          clusterRetryStrategy: retryStrategy,
          slotsRefreshTimeout: options.connectTimeoutMs ?? 3000,
          // A Cluster's offline queue has no time bound: a check would wait for as long as the
          // Cluster is unreachable. Refused at once, it answers 503.
          enableOfflineQueue: false,
          redisOptions: nodeOptions(target, options),
        },
      )
    : new Redis({
        ...nodeOptions(target, options),
        host: target.nodes[0]?.host,
        port: target.nodes[0]?.port,
        db: target.db,
      });
  client.on("error", () => {});
  return client;
}

/**
 * The outcome of the client's first connection attempt: true once it is ready, false as soon as
 * the attempt fails (a refused or unresolvable address answers at once), or after `ms` (a silent
 * network). It keeps trying in the background either way.
 */
export function firstConnection(client: RateLimitRedisClient, ms: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("error", onFailure);
      client.off("end", onFailure);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const onFailure = (): void => done(false);
    const timer = setTimeout(onFailure, ms);
    client.once("ready", onReady);
    client.once("error", onFailure);
    client.once("end", onFailure);
  });
}

/**
 * Why the client cannot take checks now (`is not connected` while it connects or reconnects), or
 * null once it answered a PING: `/readyz` reports the first as not ready.
 */
export async function rateLimitRedisProblem(client: RateLimitRedisClient): Promise<string | null> {
  if (client.status !== "ready") return `is not connected (${client.status})`;
  await client.ping();
  return null;
}
