/**
 * Redis connection for the driver: URL and option parsing, client construction with bounded
 * timeouts (a Redis that is down yields `unavailable` quickly, never a hang), start-up checks
 * that name what is wrong, and the mapping of client errors to the store's typed errors.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { HoldfastError, InvalidArgumentError, isHoldfastError, UnavailableError } from "../errors.ts";
import { ITEM_ENCODINGS, type ItemEncoding } from "./redis-codec.ts";

export interface RedisDriverOptions {
  /**
   * `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS) or
   * `redis+cluster://host:port,host:port` (`rediss+cluster://` for TLS). Query parameters
   * `prefix`, `encoding`, `timeout` (ms) and `expiry_grace_ms` set the options below when not given explicitly.
   */
  url: string;
  /** Key prefix, so several stores (or test runs) share one Redis. Default `hf`. */
  prefix?: string;
  /** Item encoding for writes: `json` (default) or `msgpack`. */
  encoding?: ItemEncoding;
  /** Bound on every command, ms. Default 2000. */
  commandTimeoutMs?: number;
  /** Bound on connecting (start-up and each reconnection attempt), ms. Default 3000. */
  connectTimeoutMs?: number;
  /** Native key expiry is set this long after the session's deadline (absorbs clock skew), ms. Default 60000. */
  expiryGraceMs?: number;
  /** A listing-index entry whose session is missing is removed once older than this, ms. Default 60000. */
  indexRepairGraceMs?: number;
  /** ioredis auto-pipelining: concurrent commands share one round trip. Default true. */
  autoPipelining?: boolean;
}

export interface RedisConfig {
  readonly cluster: boolean;
  readonly nodes: readonly { host: string; port: number }[];
  readonly db: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly prefix: string;
  readonly encoding: ItemEncoding;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly expiryGraceMs: number;
  readonly indexRepairGraceMs: number;
  readonly autoPipelining: boolean;
}

/** The client surface the driver uses; both `Redis` and `Cluster` provide it. */
export type RedisClient = Redis | Cluster;

const URL_PATTERN = /^(rediss?)(\+cluster)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i;
const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

function bad(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { param: "store" });
}

function positiveMs(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw bad(`Redis option ${name} must be a positive number of milliseconds, got ${String(value)}.`);
  }
  return n;
}

function parseNode(text: string, url: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text);
  const port = Number(match?.[2] ?? 6379);
  if (!match?.[1] || port < 1 || port > 65535) {
    throw bad(`Redis URL '${url}' has an invalid host:port '${text}'.`);
  }
  return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

/** Parses and validates the URL and options; the result is frozen. */
export function resolveRedisConfig(options: RedisDriverOptions): RedisConfig {
  const url = options.url;
  const match = typeof url === "string" ? URL_PATTERN.exec(url) : null;
  if (!match) {
    throw bad(
      `Redis URL '${String(url)}' is not valid: use redis://host:port/db, rediss://… or redis+cluster://host:port,host:port.`,
    );
  }
  const [, scheme = "", clusterTag, auth, hostList = "", path = "", query = ""] = match;
  const cluster = clusterTag !== undefined;
  const nodes = hostList.split(",").map((h) => parseNode(decodeURIComponent(h.trim()), url));
  if (!cluster && nodes.length > 1) {
    throw bad(`Redis URL '${url}' lists several hosts: use redis+cluster://… for a Redis Cluster.`);
  }
  const db = path === "" ? 0 : Number(path);
  if (!Number.isSafeInteger(db) || db < 0)
    throw bad(`Redis URL '${url}': database '${path}' is not a number.`);
  if (cluster && db !== 0) throw bad(`Redis URL '${url}': a Redis Cluster has only database 0.`);
  const params = new URLSearchParams(query);
  const [user, pass] = auth === undefined ? [] : auth.split(":", 2).map(decodeURIComponent);
  const prefix = options.prefix ?? params.get("prefix") ?? "hf";
  if (!PREFIX_PATTERN.test(prefix)) {
    throw bad(`Redis prefix '${prefix}' must be 1-64 letters, digits, '_', '.', ':' or '-'.`);
  }
  const encoding = options.encoding ?? params.get("encoding") ?? "json";
  if (!ITEM_ENCODINGS.includes(encoding as ItemEncoding)) {
    throw bad(`Redis encoding '${encoding}' is not one of ${ITEM_ENCODINGS.join(", ")}.`);
  }
  return Object.freeze({
    cluster,
    nodes: Object.freeze(nodes),
    db,
    tls: scheme.toLowerCase() === "rediss",
    username: user || undefined,
    password: pass || undefined,
    prefix,
    encoding: encoding as ItemEncoding,
    commandTimeoutMs: positiveMs(
      options.commandTimeoutMs ?? params.get("timeout") ?? undefined,
      "commandTimeoutMs",
      2000,
    ),
    connectTimeoutMs: positiveMs(options.connectTimeoutMs, "connectTimeoutMs", 3000),
    // Lifecycle deployments that archive on expiry raise it above the sweeper interval (docs/store-redis.md).
    expiryGraceMs: positiveMs(
      options.expiryGraceMs ?? params.get("expiry_grace_ms") ?? undefined,
      "expiryGraceMs",
      60_000,
    ),
    indexRepairGraceMs: positiveMs(options.indexRepairGraceMs, "indexRepairGraceMs", 60_000),
    autoPipelining: options.autoPipelining ?? true,
  });
}

/** Script commands sent by the append batcher on standalone Redis, outside auto-pipelining. */
export const BATCHED_COMMANDS = Object.freeze([
  "hfAppend",
  "hfAppendBatch",
  "hfAppendClaimed",
  "hfAppendClaimedBatch",
] as const);

/** Reconnects forever with a capped backoff: a Redis that comes back is used again automatically. */
const retryStrategy = (times: number): number => Math.min(50 * times, 1000);

function nodeOptions(config: RedisConfig): RedisOptions {
  return {
    username: config.username,
    password: config.password,
    tls: config.tls ? {} : undefined,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    // A command in flight when the connection drops may have run: sending it again after the
    // reconnection ran an append twice (its second run refused its own items as duplicates, a
    // 409 for a write that had committed). It fails `unavailable` instead; callers retry with
    // their operation id, which makes the retry exact.
    autoResendUnfulfilledCommands: false,
    retryStrategy,
  };
}

function describeNodes(config: RedisConfig): string {
  return config.nodes.map((n) => `${n.host}:${n.port}`).join(",");
}

/** Connects and checks the server; fails with a message naming the problem, leaving nothing running. */
export async function connectRedis(config: RedisConfig): Promise<RedisClient> {
  const client: RedisClient = config.cluster
    ? new Cluster([...config.nodes], {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: config.autoPipelining,
        clusterRetryStrategy: retryStrategy,
        slotsRefreshTimeout: config.connectTimeoutMs,
        redisOptions: nodeOptions(config),
      })
    : new Redis({
        ...nodeOptions(config),
        host: config.nodes[0]?.host,
        port: config.nodes[0]?.port,
        db: config.db,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: config.autoPipelining,
        // The append batcher (redis-append-batch.ts) does its own batching; its script calls are
        // written at once so several can be in flight (ioredis runs one auto-pipeline at a time).
        autoPipeliningIgnoredCommands: [...BATCHED_COMMANDS],
      });
  // Background errors surface as rejected commands; without a listener they would crash the process.
  // The last one explains a failed start better than the generic "Connection is closed".
  let lastError: Error | undefined;
  const remember = (error: Error): void => {
    lastError = error;
  };
  client.on("error", remember);
  const where = `${config.cluster ? "Redis Cluster" : "Redis"} at ${describeNodes(config)}`;
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${config.connectTimeoutMs} ms`)),
        config.connectTimeoutMs + 500,
      );
    });
    await Promise.race([client.connect(), deadline]);
    const info = String(await Promise.race([client.info("cluster"), deadline]));
    if (!config.cluster && /cluster_enabled:1/.test(info)) {
      throw new Error("this server is a Redis Cluster node; use a redis+cluster:// URL");
    }
  } catch (error) {
    client.disconnect();
    const cause = lastError ?? error;
    // ioredis' cluster errors carry the error of the last node tried, which names the real problem.
    const nodeError = (cause as { lastNodeError?: Error }).lastNodeError;
    const message = (cause instanceof Error ? cause.message : String(cause)).replace(/\.+$/, "");
    const reason = (nodeError ? `${message}: ${nodeError.message}` : message).replace(/\.+$/, "");
    throw new UnavailableError(
      `Cannot use the store ${where}: ${reason}. Check the store URL (host, port, database, password) and that Redis is running.`,
      { param: "store", cause: error },
    );
  } finally {
    clearTimeout(timer);
    client.off("error", remember);
  }
  client.on("error", () => {});
  return client;
}

/** Server-side conditions that pass on their own: retrying later is the right answer. */
const TRANSIENT_REPLY = /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|BUSY|NOREPLICAS|OOM|READONLY|MOVED|ASK)\b/;

/** Maps anything the client throws to the store's typed errors. */
export function toStoreError(error: unknown): HoldfastError {
  if (isHoldfastError(error)) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  if (err.name === "ReplyError" && !TRANSIENT_REPLY.test(err.message)) {
    return new HoldfastError("internal", `Redis rejected a store command: ${err.message}`, { cause: err });
  }
  return new UnavailableError(`Redis is unavailable (${err.message}); retry shortly.`, { cause: err });
}
