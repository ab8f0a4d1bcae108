/** The `rate_limits` section: parsed rules, and every bad value refused naming its key as written. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "../store/errors.ts";
import { parseRateLimitsConfig } from "./rate-limits-config.ts";

test("rules parse into the limiter's options (the Redis URL is rate-limit-redis.ts's)", () => {
  assert.deepEqual(parseRateLimitsConfig(undefined), {});
  assert.deepEqual(
    parseRateLimitsConfig({
      redis: " redis://127.0.0.1:6379 ",
      per_key: { requests_per_minute: 60, tokens_per_minute: 1e5 },
      per_owner: { tokens_per_minute: 2000 },
    }),
    {
      perKey: { requestsPerMinute: 60, tokensPerMinute: 1e5 },
      perOwner: { tokensPerMinute: 2000 },
    },
  );
});

test("a bad section, key or value is refused naming it as written in the file", () => {
  const bad: Array<[unknown, RegExp]> = [
    ["yes", /^rate_limits must be an object/],
    [[{ per_key: {} }], /^rate_limits must be an object/],
    [
      { per_kye: { requests_per_minute: 5 } },
      /^rate_limits\.per_kye is not a setting; use one of redis, per_key, per_owner/,
    ],
    [{ per_key: 60 }, /^rate_limits\.per_key must be an object/],
    [{ per_key: { rpm: 60 } }, /^rate_limits\.per_key\.rpm is not a setting/],
    [
      { per_key: { requests_per_minute: "abc" } },
      /^rate_limits\.per_key\.requests_per_minute must be a number of at least 1 \(got "abc"\)/,
    ],
    [{ per_key: { requests_per_minute: "60" } }, /requests_per_minute must be a number/],
    [{ per_owner: { requests_per_minute: -5 } }, /^rate_limits\.per_owner\.requests_per_minute must be/],
    [
      { per_owner: { requests_per_minute: 0.5 } },
      /^rate_limits\.per_owner\.requests_per_minute must be a number of at least 1/,
    ],
    [{ per_key: { tokens_per_minute: 0 } }, /^rate_limits\.per_key\.tokens_per_minute must be/],
  ];
  for (const [section, message] of bad) {
    assert.throws(
      () => parseRateLimitsConfig(section),
      (error: Error) => error instanceof InvalidArgumentError && message.test(error.message),
      JSON.stringify(section),
    );
  }
});
