/**
 * A daily spend cap per tenant fed from finished turns: each turn's cost is added once to an
 * append-only per-tenant-per-UTC-day counter (the rate-limit backend's `SpendCounter`, shared
 * through Redis when the buckets are), and the limiter's `spendCap` reads it back. Never summed
 * from response records: deleting a conversation would give its spend back, and `store: false`
 * turns write none. `holdfast serve` builds one from `rate_limits.spend_per_day_usd*`.
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import { checkTenant } from "../../store/validate.ts";
import { type SpendCounter, utcDay } from "./backend.ts";
import type { SpendCap } from "./limiter.ts";

/** What a finished turn reports (`createGateway({ onTurn })`): its tenant and its cost. */
export interface SpentTurn {
  readonly tenant: string;
  /** USD, or null for a model without a price: nothing is added. */
  readonly costUsd: number | null;
}

export interface DailySpendOptions {
  counter: SpendCounter;
  /** Every tenant's cap in USD per UTC day; null or absent: no cap but the per-tenant ones. */
  perDayUsd?: number | null;
  /** Caps overriding `perDayUsd` per tenant; null lifts the cap for that tenant. */
  perDayUsdByTenant?: Readonly<Record<string, number | null>>;
  /**
   * The spend cap's one clock (default `Date.now`): the UTC day a turn counts on, the day read
   * back, and — as `spendCap.clock` — the limiter's `Retry-After` to the next 00:00 UTC, so the
   * reset a refusal announces is the one the counter makes, whatever clock the limiter has.
   */
  clock?: () => number;
  /**
   * Told when a turn's cost could not be added (its backend is unreachable). That spend is lost
   * to the cap, so say so; the turn's answer is not affected.
   */
  onError?: (error: unknown, turn: SpentTurn) => void;
}

export interface DailySpend {
  /** The limiter's hook: the tenant's cap, and what it has spent today. */
  readonly spendCap: SpendCap;
  /** Adds a finished turn's cost to its tenant's total for the UTC day it finished on. */
  record(turn: SpentTurn): void;
  /** Resolves once every add in flight has answered: run it before the counter's connection closes. */
  flush(): Promise<void>;
}

function checkCap(value: number | null | undefined, name: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive number of USD (got ${String(value)}).`, {
      param: name,
    });
  }
  return value;
}

/**
 * Refuses an override for a name no tenant can have: it would cap nobody, silently. `param` names
 * the key as the caller wrote it (`perDayUsdByTenant.x`, or the config file's key).
 */
export function checkOverrideTenant(tenant: string, param: string): void {
  try {
    checkTenant(tenant);
  } catch {
    throw new InvalidArgumentError(
      `${param} is not a tenant id (1-64 letters, digits, '_', '.', ':' or '-').`,
      { param },
    );
  }
}

export function createDailySpend(options: DailySpendOptions): DailySpend {
  const { counter } = options;
  const clock = options.clock ?? Date.now;
  const onError = options.onError ?? (() => {});
  const fallback = checkCap(options.perDayUsd, "perDayUsd");
  // A Map, not the object: a tenant may be called `constructor` or `__proto__`.
  const byTenant = new Map<string, number | null>();
  for (const [tenant, cap] of Object.entries(options.perDayUsdByTenant ?? {})) {
    checkOverrideTenant(tenant, `perDayUsdByTenant.${tenant}`);
    byTenant.set(tenant, checkCap(cap, `perDayUsdByTenant.${tenant}`));
  }
  const pending = new Set<Promise<void>>();

  const spendCap: SpendCap = Object.freeze({
    unit: "USD",
    limit: (tenant: string) => (byTenant.has(tenant) ? (byTenant.get(tenant) ?? null) : fallback),
    // Read through on every model call (one GET): a cached total would let every instance
    // overshoot by what it has not yet re-read.
    spentToday: (tenant: string) => counter.spentOn(tenant, utcDay(clock())),
    clock,
  });

  return Object.freeze({
    spendCap,
    record(turn: SpentTurn): void {
      const cost = turn.costUsd;
      if (cost === null || !(cost > 0)) return;
      const added = counter
        .addSpend(turn.tenant, utcDay(clock()), cost)
        .catch((error: unknown) => {
          try {
            onError(error, turn);
          } catch {
            // A failing logger must not become an unhandled rejection that stops the process.
          }
        })
        .finally(() => pending.delete(added));
      pending.add(added);
    },
    async flush(): Promise<void> {
      await Promise.all([...pending]);
    },
  });
}
