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

test("the daily spend cap: a default, per-tenant overrides, null lifting it", () => {
  assert.deepEqual(parseRateLimitsConfig({ spend_per_day_usd: 50 }), {
    spendPerDay: { usd: 50, byTenant: {} },
  });
  assert.deepEqual(
    parseRateLimitsConfig({
      spend_per_day_usd: 0.5,
      spend_per_day_usd_by_tenant: { acme: 200, internal: null },
    }),
    { spendPerDay: { usd: 0.5, byTenant: { acme: 200, internal: null } } },
  );
  // Overrides alone cap only the tenants they name.
  assert.deepEqual(parseRateLimitsConfig({ spend_per_day_usd_by_tenant: { acme: 10 } }), {
    spendPerDay: { usd: null, byTenant: { acme: 10 } },
  });
  // null (YAML `~` or an empty value) is the same as leaving a setting out.
  assert.deepEqual(parseRateLimitsConfig({ spend_per_day_usd: null, spend_per_day_usd_by_tenant: null }), {});
  // A tenant may be called `__proto__`: it is an override like any other, not the object's prototype.
  const odd = parseRateLimitsConfig(JSON.parse('{"spend_per_day_usd_by_tenant": {"__proto__": 3}}'));
  assert.deepEqual(Object.entries(odd.spendPerDay?.byTenant ?? {}), [["__proto__", 3]]);
});

test("a bad section, key or value is refused naming it as written in the file", () => {
  const bad: Array<[unknown, RegExp]> = [
    ["yes", /^rate_limits must be an object/],
    [[{ per_key: {} }], /^rate_limits must be an object/],
    [
      { per_kye: { requests_per_minute: 5 } },
      /^rate_limits\.per_kye is not a setting; use one of redis, per_key, per_owner, spend_per_day_usd, spend_per_day_usd_by_tenant/,
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
    [
      { spend_per_day_usd: 0 },
      /^rate_limits\.spend_per_day_usd must be a positive number of USD per day \(got 0\)/,
    ],
    [{ spend_per_day_usd: -5 }, /^rate_limits\.spend_per_day_usd must be a positive number/],
    [{ spend_per_day_usd: "50" }, /^rate_limits\.spend_per_day_usd must be a positive number .*\(got "50"\)/],
    [{ spend_per_day_usd: Number.POSITIVE_INFINITY }, /^rate_limits\.spend_per_day_usd must be/],
    [{ spend_per_day_usd: { usd: 5 } }, /^rate_limits\.spend_per_day_usd must be a positive number/],
    [
      { spend_per_day_usd_by_tenant: [5] },
      /^rate_limits\.spend_per_day_usd_by_tenant must be an object of tenant: USD per day/,
    ],
    [
      { spend_per_day_usd: 5, spend_per_day_usd_by_tenant: { acme: 0 } },
      /^rate_limits\.spend_per_day_usd_by_tenant\.acme must be a positive number of USD per day \(got 0\)/,
    ],
    [
      { spend_per_day_usd_by_tenant: { acme: "none" } },
      /^rate_limits\.spend_per_day_usd_by_tenant\.acme must be a positive number .*\(got "none"\)/,
    ],
    [
      { spend_per_day_usd_by_tenant: { "Acme Corp": 5 } },
      /^rate_limits\.spend_per_day_usd_by_tenant\.Acme Corp is not a tenant id/,
    ],
    [{ spend_per_day: 5 }, /^rate_limits\.spend_per_day is not a setting/],
  ];
  for (const [section, message] of bad) {
    assert.throws(
      () => parseRateLimitsConfig(section),
      (error: Error) => error instanceof InvalidArgumentError && message.test(error.message),
      JSON.stringify(section),
    );
  }
});
