/**
 * `rate_limits.redis` (or `HOLDFAST_RATE_LIMIT_REDIS`, which wins as every environment variable
 * does): the Redis that several instances share their rate limits through. Checked at start-up so
 * a typo stops the server with a message naming the setting, instead of every request answering 503.
 */
import type { RateLimitRedisTarget } from "../security/rate-limit/redis-client.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import { isPlainObject } from "../store/validate.ts";
import { redactStoreUrl } from "./values.ts";

const ENV_NAME = "HOLDFAST_RATE_LIMIT_REDIS";
const URL_PATTERN = /^(rediss?)(\+cluster)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(\?[^#]*)?$/i;
const NODE_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/;
const FORMS = "redis://host:6379/0, rediss://… (TLS) or redis+cluster://host:port,host:port";

/**
 * The rate-limit Redis, or null for in-process limits. `section` is the config file's
 * `rate_limits`; `where` names that file in messages.
 */
export function parseRateLimitRedis(
  section: unknown,
  env: Record<string, string | undefined>,
  where = "the config file",
): RateLimitRedisTarget | null {
  const fromEnv = env[ENV_NAME];
  if (fromEnv !== undefined && fromEnv !== "") return parseUrl(fromEnv, ENV_NAME);
  const value = isPlainObject(section) ? section.redis : undefined;
  if (value === undefined || value === null) return null;
  return parseUrl(value, `rate_limits.redis in ${where}`);
}

function parseUrl(value: unknown, name: string): RateLimitRedisTarget {
  const fail = (what: string): never => {
    const shown = typeof value === "string" ? `'${redactStoreUrl(value)}'` : JSON.stringify(value);
    throw new InvalidArgumentError(`${name} ${what} (got ${shown}).`, { param: "rate_limits.redis" });
  };
  const match = typeof value === "string" ? URL_PATTERN.exec(value.trim()) : null;
  if (!match) return fail(`must be a Redis URL such as ${FORMS}`);
  const [, scheme = "", clusterTag, auth, hostList = "", path = "", query] = match;
  const cluster = clusterTag !== undefined;
  if (query !== undefined) return fail("takes no query parameters");
  const nodes = hostList.split(",").map((text) => {
    const node = NODE_PATTERN.exec(text.trim());
    const port = Number(node?.[2] ?? 6379);
    if (!node?.[1] || port < 1 || port > 65535) return fail(`has an invalid host:port '${text}'`);
    return { host: node[1].replace(/^\[|\]$/g, ""), port };
  });
  if (!cluster && nodes.length > 1) {
    return fail("lists several hosts: use redis+cluster://host:port,host:port for a Redis Cluster");
  }
  const db = path === "" ? 0 : /^\d+$/.test(path) ? Number(path) : -1;
  if (db < 0) return fail(`has a database '${path}' that is not a number`);
  if (cluster && db !== 0) return fail("names a database: a Redis Cluster has only database 0");
  const colon = auth?.indexOf(":") ?? -1;
  const decode = (text: string | undefined): string | undefined => {
    try {
      return text ? decodeURIComponent(text) : undefined;
    } catch {
      return fail("has a user name or password with a bad %-escape");
    }
  };
  const user = decode(colon < 0 ? auth : auth?.slice(0, colon));
  const pass = decode(colon < 0 ? undefined : auth?.slice(colon + 1));
  return Object.freeze({
    cluster,
    nodes: Object.freeze(nodes),
    db,
    tls: scheme.toLowerCase() === "rediss",
    username: user,
    password: pass,
  });
}
