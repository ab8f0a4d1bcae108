/**
 * Rate limits and quotas for one request: per API key and per owner, requests/minute and
 * tokens/minute (token buckets), plus an optional spend cap per tenant per UTC day. Tokens are
 * reserved before the model call from an estimate and settled afterwards with the real usage.
 *
 * Server hooks: `const r = await limiter.reserve({ tenant, keyId, owner, estimatedTokens })`
 * before the upstream call (throws RateLimitError → 429 + Retry-After), then
 * `await r.settle(usage.total_tokens)` once the real usage is known (or `settle(0)` on failure).
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import { RateLimitError } from "../errors.ts";
import type { BucketSpec, RateLimitBackend } from "./backend.ts";

export interface RateLimitRule {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export interface SpendCap {
  /** Daily cap in the ledger's unit (e.g. USD) for a tenant, or null for none. */
  limit: (tenant: string) => number | null;
  /** What the tenant has spent today (UTC), from the usage ledger. */
  spentToday: (tenant: string) => Promise<number>;
  /** The unit the refusal names the cap in (e.g. `USD`); none by default. */
  unit?: string;
  /**
   * The clock of the cap's day, which `Retry-After` counts down to the end of (00:00 UTC);
   * `createDailySpend` sets its own. Default: the limiter's `clock`.
   */
  clock?: () => number;
}

export interface RateLimiterOptions {
  backend: RateLimitBackend;
  perKey?: RateLimitRule;
  perOwner?: RateLimitRule;
  spendCap?: SpendCap;
  /** The clock of a spend cap's reset when the cap has none of its own (`spendCap.clock`). Default `Date.now`. */
  clock?: () => number;
}

export interface ReserveInput {
  tenant: string;
  /** API key id of the caller, when it has one. */
  keyId?: string | null;
  /** End user, when known (token principal, or the session owner). */
  owner?: string | null;
  /** Expected tokens of the call (prompt + max output); 0 for requests that call no model. */
  estimatedTokens?: number;
  /**
   * Whether the request calls a model (default true). The spend cap refuses only those: a
   * tenant over its day's budget can still read, export and delete its conversations.
   */
  callsModel?: boolean;
}

export interface Reservation {
  /** Corrects the token buckets from the estimate to `actualTokens`. Only the first call counts. */
  settle(actualTokens: number): Promise<void>;
}

export interface RateLimiter {
  reserve(input: ReserveInput): Promise<Reservation>;
}

const NOOP: Reservation = Object.freeze({ settle: async () => undefined });

function checkRule(rule: RateLimitRule | undefined, name: string): RateLimitRule {
  if (rule === undefined) return {};
  for (const field of ["requestsPerMinute", "tokensPerMinute"] as const) {
    const value = rule[field];
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      throw new InvalidArgumentError(`${name}.${field} must be a positive number.`);
    }
  }
  // Every request costs one: a smaller bucket never holds it, so every request would be a 429
  // whose Retry-After promises a refill that never comes.
  if (rule.requestsPerMinute !== undefined && rule.requestsPerMinute < 1) {
    throw new InvalidArgumentError(`${name}.requestsPerMinute must be at least 1.`);
  }
  return Object.freeze({ ...rule });
}

/** Hash-tag the tenant so every bucket of one check lands in one Redis Cluster slot. */
function bucketKey(tenant: string, scope: string, id: string, what: string): string {
  return `{${tenant}}:${scope}:${id}:${what}`;
}

/** Money as a refusal names it: at most 6 decimals, no float noise (0.30000000000000004). */
function amount(value: number, unit: string | undefined): string {
  const shown = String(Number(value.toFixed(6)));
  return unit ? `${shown} ${unit}` : shown;
}

async function checkSpend(spendCap: SpendCap, tenant: string, clock: () => number): Promise<void> {
  const cap = spendCap.limit(tenant);
  if (cap === null) return;
  const spent = await spendCap.spentToday(tenant);
  if (spent < cap) return;
  // The cap's own clock: the day it counts is the day whose end the refusal announces.
  const now = (spendCap.clock ?? clock)();
  const midnight = Math.ceil((now + 1) / 86_400_000) * 86_400_000;
  throw new RateLimitError(
    `Tenant '${tenant}' reached its daily spend cap of ${amount(cap, spendCap.unit)} (spent ${amount(spent, spendCap.unit)} today); it resets at 00:00 UTC.`,
    "tenant:spend",
    (midnight - now) / 1000,
  );
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { backend, spendCap } = options;
  const perKey = checkRule(options.perKey, "perKey");
  const perOwner = checkRule(options.perOwner, "perOwner");
  const clock = options.clock ?? Date.now;

  return Object.freeze({
    async reserve(input: ReserveInput): Promise<Reservation> {
      const estimate = Math.max(0, Math.ceil(input.estimatedTokens ?? 0));
      // Asked before the buckets and awaited with them: over Redis the spend read and the bucket
      // script travel together, one round trip rather than two.
      const spend =
        spendCap && input.callsModel !== false ? checkSpend(spendCap, input.tenant, clock) : undefined;
      const specs: BucketSpec[] = [];
      const names: string[] = [];
      const tokenBuckets: { spec: BucketSpec; taken: number }[] = [];
      const add = (rule: RateLimitRule, scope: "key" | "owner", id: string | null | undefined): void => {
        if (!id) return;
        if (rule.requestsPerMinute !== undefined) {
          specs.push({
            key: bucketKey(input.tenant, scope, id, "rpm"),
            capacity: rule.requestsPerMinute,
            cost: 1,
          });
          names.push(`${scope}:requests`);
        }
        if (rule.tokensPerMinute !== undefined) {
          // An estimate above the bucket size could never pass: take the whole bucket, settle the rest as debt.
          const spec = {
            key: bucketKey(input.tenant, scope, id, "tpm"),
            capacity: rule.tokensPerMinute,
            cost: Math.min(estimate, rule.tokensPerMinute),
          };
          specs.push(spec);
          names.push(`${scope}:tokens`);
          tokenBuckets.push({ spec, taken: spec.cost });
        }
      };
      add(perKey, "key", input.keyId);
      add(perOwner, "owner", input.owner);
      if (specs.length === 0) {
        await spend;
        return NOOP;
      }
      const [spent, taken] = await Promise.allSettled([spend, backend.take(specs)]);
      if (spent.status === "rejected") {
        // Refused for its spend: what the buckets gave goes back, as if they were never asked.
        if (taken.status === "fulfilled" && taken.value.ok) {
          await Promise.all(specs.map((spec) => backend.adjust(spec, spec.cost))).catch(() => {});
        }
        throw spent.reason;
      }
      if (taken.status === "rejected") throw taken.reason;
      const result = taken.value;
      if (!result.ok) {
        const limit = names[result.index] ?? "unknown";
        throw new RateLimitError(
          `Rate limit reached for ${limit.replace(":", " ")} per minute; retry after the indicated delay.`,
          limit,
          result.retryAfterMs / 1000,
        );
      }
      let settled = false;
      return Object.freeze({
        async settle(actualTokens: number): Promise<void> {
          if (settled) return;
          settled = true;
          const actual = Math.max(0, Math.ceil(Number.isFinite(actualTokens) ? actualTokens : 0));
          await Promise.all(
            tokenBuckets
              .filter(({ taken }) => taken !== actual)
              .map(({ spec, taken }) => backend.adjust(spec, taken - actual)),
          );
        },
      });
    },
  });
}
