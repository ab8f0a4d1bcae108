/**
 * The `rate_limits` section of the config file: per-key and per-owner budgets and the daily spend
 * cap per tenant (docs/configuration.md).
 * Validated at start-up with messages naming the key as written in the file; unknown keys are
 * refused so typos do not pass. Its `redis` URL (shared buckets, Cluster included) is parsed by
 * rate-limit-redis.ts, where the environment variable that overrides it is read too.
 */
import { checkOverrideTenant } from "../security/rate-limit/daily-spend.ts";
import type { RateLimitRule } from "../security/rate-limit/limiter.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import { isPlainObject } from "../store/validate.ts";

export interface SpendPerDayConfig {
  /** Every tenant's cap, USD per UTC day (null: only the tenants listed below have one). */
  usd: number | null;
  /** Per-tenant caps overriding it; null lifts the cap for that tenant. */
  byTenant: Readonly<Record<string, number | null>>;
}

export interface RateLimitsConfig {
  perKey?: RateLimitRule;
  perOwner?: RateLimitRule;
  /** Present when either spend setting is: the daily spend cap. */
  spendPerDay?: SpendPerDayConfig;
}

const KEYS = ["redis", "per_key", "per_owner", "spend_per_day_usd", "spend_per_day_usd_by_tenant"] as const;
const RULE_KEYS = ["requests_per_minute", "tokens_per_minute"] as const;

function fail(param: string, what: string): never {
  throw new InvalidArgumentError(`${param} ${what}.`, { param });
}

function unknownKey(section: Record<string, unknown>, keys: readonly string[], where: string): void {
  const unknown = Object.keys(section).find((key) => !keys.includes(key));
  if (unknown !== undefined) fail(`${where}.${unknown}`, `is not a setting; use one of ${keys.join(", ")}`);
}

function perMinute(value: unknown, where: string, min: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    fail(where, `must be a number of at least ${min} (got ${JSON.stringify(value) ?? String(value)})`);
  }
  return value;
}

function rule(raw: unknown, where: string): RateLimitRule | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isPlainObject(raw)) fail(where, "must be an object with requests_per_minute and/or tokens_per_minute");
  unknownKey(raw, RULE_KEYS, where);
  // Every request costs one: a bucket below one request never admits any.
  const requests = perMinute(raw.requests_per_minute, `${where}.requests_per_minute`, 1);
  const tokens = perMinute(raw.tokens_per_minute, `${where}.tokens_per_minute`, Number.MIN_VALUE);
  return {
    ...(requests === undefined ? {} : { requestsPerMinute: requests }),
    ...(tokens === undefined ? {} : { tokensPerMinute: tokens }),
  };
}

function usdPerDay(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    fail(where, `must be a positive number of USD per day (got ${JSON.stringify(value) ?? String(value)})`);
  }
  return value;
}

function spendPerDay(section: Record<string, unknown>): SpendPerDayConfig | undefined {
  const fallback = section.spend_per_day_usd;
  const overrides = section.spend_per_day_usd_by_tenant;
  if ((fallback === undefined || fallback === null) && (overrides === undefined || overrides === null)) {
    return undefined;
  }
  const usd =
    fallback === undefined || fallback === null ? null : usdPerDay(fallback, "rate_limits.spend_per_day_usd");
  const byTenant: Record<string, number | null> = {};
  if (overrides !== undefined && overrides !== null) {
    const where = "rate_limits.spend_per_day_usd_by_tenant";
    if (!isPlainObject(overrides))
      fail(where, "must be an object of tenant: USD per day (or null for no cap)");
    for (const [tenant, cap] of Object.entries(overrides)) {
      checkOverrideTenant(tenant, `${where}.${tenant}`);
      Object.defineProperty(byTenant, tenant, {
        value: cap === null ? null : usdPerDay(cap, `${where}.${tenant}`),
        enumerable: true,
      });
    }
  }
  return Object.freeze({ usd, byTenant: Object.freeze(byTenant) });
}

/** Parses `section` (undefined or null: no limits, buckets in process). */
export function parseRateLimitsConfig(section: unknown): RateLimitsConfig {
  if (section === undefined || section === null) return Object.freeze({});
  if (!isPlainObject(section)) {
    fail("rate_limits", "must be an object with per_key, per_owner, spend_per_day_usd* and/or redis");
  }
  unknownKey(section, KEYS, "rate_limits");
  const perKey = rule(section.per_key, "rate_limits.per_key");
  const perOwner = rule(section.per_owner, "rate_limits.per_owner");
  const spend = spendPerDay(section);
  return Object.freeze({
    ...(perKey ? { perKey } : {}),
    ...(perOwner ? { perOwner } : {}),
    ...(spend ? { spendPerDay: spend } : {}),
  });
}
