import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRateLimitRedis } from "./rate-limit-redis.ts";

const refused = (section: unknown, env: Record<string, string>, message: RegExp): void => {
  assert.throws(
    () => parseRateLimitRedis(section, env, "config file '/srv/h.yaml'"),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "invalid_argument");
      assert.match(error.message, message);
      return true;
    },
  );
};

describe("rate_limits.redis", () => {
  it("is absent by default: limits stay in process", () => {
    assert.equal(parseRateLimitRedis(undefined, {}), null);
    assert.equal(parseRateLimitRedis({ per_key: { requests_per_minute: 5 } }, {}), null);
  });

  it("reads a single server, with TLS, credentials and database", () => {
    assert.deepEqual(parseRateLimitRedis({ redis: "redis://127.0.0.1:6380/2" }, {}), {
      cluster: false,
      nodes: [{ host: "127.0.0.1", port: 6380 }],
      db: 2,
      tls: false,
      username: undefined,
      password: undefined,
    });
    assert.deepEqual(parseRateLimitRedis({ redis: "rediss://rl:p%40ss:w@[::1]" }, {}), {
      cluster: false,
      nodes: [{ host: "::1", port: 6379 }],
      db: 0,
      tls: true,
      username: "rl",
      password: "p@ss:w",
    });
  });

  it("reads a Redis Cluster from redis+cluster:// with its seed nodes", () => {
    const target = parseRateLimitRedis({ redis: "rediss+cluster://:secret@a:7000,b:7001" }, {});
    assert.deepEqual(target, {
      cluster: true,
      nodes: [
        { host: "a", port: 7000 },
        { host: "b", port: 7001 },
      ],
      db: 0,
      tls: true,
      username: undefined,
      password: "secret",
    });
  });

  it("takes HOLDFAST_RATE_LIMIT_REDIS over the file, as every environment variable", () => {
    const env = { HOLDFAST_RATE_LIMIT_REDIS: "redis://env-host:6379" };
    assert.equal(parseRateLimitRedis({ redis: "redis://file-host" }, env)?.nodes[0]?.host, "env-host");
    assert.equal(
      parseRateLimitRedis({ redis: "redis://file-host" }, { HOLDFAST_RATE_LIMIT_REDIS: "" })?.nodes[0]?.host,
      "file-host",
    );
    refused(
      {},
      { HOLDFAST_RATE_LIMIT_REDIS: "localhost:6379" },
      /^HOLDFAST_RATE_LIMIT_REDIS must be a Redis URL/,
    );
  });

  it("refuses what new Redis() would have misread, naming the setting and what to write", () => {
    const inFile = /^rate_limits\.redis in config file '\/srv\/h\.yaml'/;
    refused({ redis: "localhost:6379" }, {}, inFile);
    refused({ redis: "localhost:6379" }, {}, /must be a Redis URL such as redis:\/\/host:6379\/0/);
    refused({ redis: "http://cache:6379" }, {}, /must be a Redis URL/);
    refused({ redis: 6379 }, {}, /must be a Redis URL .*\(got 6379\)/);
    refused({ redis: { url: "redis://x" } }, {}, /must be a Redis URL/);
    refused({ redis: "redis://a:7000,b:7001" }, {}, /several hosts: use redis\+cluster:\/\//);
    refused({ redis: "redis+cluster://a:7000/1" }, {}, /a Redis Cluster has only database 0/);
    refused({ redis: "redis://cache/zero" }, {}, /database 'zero' that is not a number/);
    refused({ redis: "redis://cache:99999" }, {}, /invalid host:port 'cache:99999'/);
    refused({ redis: "redis://:6379" }, {}, /invalid host:port ':6379'/);
    refused({ redis: "redis://cache?prefix=rl" }, {}, /takes no query parameters/);
    refused({ redis: "redis://u:%zz@cache" }, {}, /bad %-escape/);
  });

  it("never shows the password in its message", () => {
    assert.throws(
      () => parseRateLimitRedis({ redis: "redis://user:hunter2@a,b" }, {}),
      (error: Error) => !error.message.includes("hunter2") && /user:\*\*\*@/.test(error.message),
    );
  });
});
