/**
 * Retention policies: the `lifecycle` config section parsed into a frozen `LifecyclePolicy`,
 * and the effective policy of one session (tenant overrides, then the session's own fields and
 * `lifecycle.*` metadata keys). Parsing validates everything once, naming the setting at fault.
 */
import { InvalidArgumentError } from "../store/errors.ts";
import type { Session } from "../store/types.ts";
import type { ResetSchedule } from "./reset-schedule.ts";
import { parseCount, parseDurationMs, parseFraction, parseSizeBytes, parseTimeZone } from "./values.ts";

export const EXPIRY_ACTIONS = ["archive", "delete"] as const;
export type ExpiryAction = (typeof EXPIRY_ACTIONS)[number];

/** Limits of one tenant (every field optional: absent means "no limit"). */
export interface TenantPolicy {
  idleTtlMs: number | null;
  absoluteTtlMs: number | null;
  maxSessionsPerOwner: number | null;
  maxItemsPerSession: number | null;
  maxBytesPerSession: number | null;
  maxTokensPerSession: number | null;
  /** Storage budget of the tenant (bytes, pinned sessions included). */
  budgetBytes: number | null;
  onExpiry: ExpiryAction;
  reset: ResetSchedule | null;
}

export interface BudgetPolicy {
  /** Eviction starts once usage exceeds `highWater × budget`… */
  highWater: number;
  /** …and stops once usage is at most `lowWater × budget`. */
  lowWater: number;
}

export interface LifecyclePolicy {
  defaults: TenantPolicy;
  tenants: Readonly<Record<string, TenantPolicy>>;
  /** Budget over every tenant together (bytes), or null. */
  globalBudgetBytes: number | null;
  budget: BudgetPolicy;
  /** How long an archived session (stub and cold file) is kept, or null for ever. */
  archiveRetentionMs: number | null;
}

/** Metadata keys a session may carry to override its tenant's policy. */
export const SESSION_OVERRIDE_KEYS = {
  idleTtl: "lifecycle.idle_ttl",
  absoluteTtl: "lifecycle.absolute_ttl",
  onExpiry: "lifecycle.on_expiry",
  maxItems: "lifecycle.max_items",
  maxBytes: "lifecycle.max_bytes",
  maxTokens: "lifecycle.max_tokens",
  reset: "lifecycle.reset",
} as const;

const TENANT_KEYS = [
  "idle_ttl",
  "absolute_ttl",
  "max_sessions_per_owner",
  "max_items_per_session",
  "max_bytes_per_session",
  "max_tokens_per_session",
  "storage_budget",
  "on_expiry",
  "reset",
] as const;
const TOP_KEYS = [
  "defaults",
  "tenants",
  "global_budget",
  "high_water",
  "low_water",
  "archive",
  "sweeper",
  "action_log",
] as const;

/** No rule at all: what a tenant without settings starts from. */
export const NO_POLICY: TenantPolicy = Object.freeze({
  idleTtlMs: null,
  absoluteTtlMs: null,
  maxSessionsPerOwner: null,
  maxItemsPerSession: null,
  maxBytesPerSession: null,
  maxTokensPerSession: null,
  budgetBytes: null,
  onExpiry: "archive",
  reset: null,
});

function record(value: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError(`${name} must be an object.`, { param: name });
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new InvalidArgumentError(
        `${name}.${key} is not a lifecycle setting; use one of ${keys.join(", ")}.`,
        {
          param: `${name}.${key}`,
        },
      );
    }
  }
  return value as Record<string, unknown>;
}

function optional<T>(
  value: unknown,
  name: string,
  parse: (v: unknown, n: string) => T,
  fallback: T | null,
): T | null {
  if (value === undefined) return fallback;
  if (value === null || value === "off" || value === false) return null;
  return parse(value, name);
}

function parseReset(value: unknown, name: string): ResetSchedule {
  const r = record(value, name, ["hour", "time_zone"]);
  const hour = r.hour;
  if (typeof hour !== "number" || !Number.isInteger(hour) || hour < 0 || hour > 23) {
    throw new InvalidArgumentError(`${name}.hour must be an integer 0..23 (got ${JSON.stringify(hour)}).`, {
      param: `${name}.hour`,
    });
  }
  return { hour, timeZone: parseTimeZone(r.time_zone ?? "UTC", `${name}.time_zone`) };
}

function parseExpiryAction(value: unknown, name: string): ExpiryAction {
  if ((EXPIRY_ACTIONS as readonly unknown[]).includes(value)) return value as ExpiryAction;
  throw new InvalidArgumentError(`${name} must be 'archive' or 'delete' (got ${JSON.stringify(value)}).`, {
    param: name,
  });
}

function parseTenant(value: unknown, name: string, base: TenantPolicy): TenantPolicy {
  const r = record(value, name, TENANT_KEYS);
  return Object.freeze({
    idleTtlMs: optional(r.idle_ttl, `${name}.idle_ttl`, parseDurationMs, base.idleTtlMs),
    absoluteTtlMs: optional(r.absolute_ttl, `${name}.absolute_ttl`, parseDurationMs, base.absoluteTtlMs),
    maxSessionsPerOwner: optional(
      r.max_sessions_per_owner,
      `${name}.max_sessions_per_owner`,
      parseCount,
      base.maxSessionsPerOwner,
    ),
    maxItemsPerSession: optional(
      r.max_items_per_session,
      `${name}.max_items_per_session`,
      parseCount,
      base.maxItemsPerSession,
    ),
    maxBytesPerSession: optional(
      r.max_bytes_per_session,
      `${name}.max_bytes_per_session`,
      parseSizeBytes,
      base.maxBytesPerSession,
    ),
    maxTokensPerSession: optional(
      r.max_tokens_per_session,
      `${name}.max_tokens_per_session`,
      parseCount,
      base.maxTokensPerSession,
    ),
    budgetBytes: optional(r.storage_budget, `${name}.storage_budget`, parseSizeBytes, base.budgetBytes),
    onExpiry: r.on_expiry === undefined ? base.onExpiry : parseExpiryAction(r.on_expiry, `${name}.on_expiry`),
    reset: optional(r.reset, `${name}.reset`, parseReset, base.reset),
  });
}

/**
 * Parses the `lifecycle` config section (snake_case keys, durations and sizes as strings or
 * numbers). Tenants inherit `defaults` and override what they set. The result is frozen.
 */
export function parseLifecyclePolicy(section: unknown, name = "lifecycle"): LifecyclePolicy {
  const r = record(section, name, TOP_KEYS);
  const defaults = parseTenant(r.defaults, `${name}.defaults`, NO_POLICY);
  const tenantsRaw = record(
    r.tenants,
    `${name}.tenants`,
    Object.keys((r.tenants as object | undefined) ?? {}),
  );
  const tenants: Record<string, TenantPolicy> = {};
  for (const [tenant, value] of Object.entries(tenantsRaw)) {
    tenants[tenant] = parseTenant(value, `${name}.tenants.${tenant}`, defaults);
  }
  const highWater = r.high_water === undefined ? 0.9 : parseFraction(r.high_water, `${name}.high_water`);
  const lowWater =
    r.low_water === undefined ? Math.min(0.8, highWater) : parseFraction(r.low_water, `${name}.low_water`);
  if (lowWater > highWater) {
    throw new InvalidArgumentError(
      `${name}.low_water (${lowWater}) must not exceed high_water (${highWater}).`,
      {
        param: `${name}.low_water`,
      },
    );
  }
  const archive = record(r.archive, `${name}.archive`, ["backend", "dir", "url", "compression", "retention"]);
  return Object.freeze({
    defaults,
    tenants: Object.freeze(tenants),
    globalBudgetBytes: optional(r.global_budget, `${name}.global_budget`, parseSizeBytes, null),
    budget: Object.freeze({ highWater, lowWater }),
    archiveRetentionMs: optional(archive.retention, `${name}.archive.retention`, parseDurationMs, null),
  });
}

/** The policy of `tenant`: its own section, or the defaults. */
export function tenantPolicy(policy: LifecyclePolicy, tenant: string): TenantPolicy {
  return policy.tenants[tenant] ?? policy.defaults;
}

/** The effective policy of one session, and the metadata overrides that could not be parsed. */
export interface SessionPolicy extends TenantPolicy {
  invalidOverrides: string[];
}

/**
 * A session's own `idleTtlMs`/`expiresAt` win over everything (they are what the store enforces);
 * then its `lifecycle.*` metadata; then its tenant's policy. An unparsable override is ignored
 * and reported, never fatal: one bad session must not stop a sweep.
 */
export function sessionPolicy(policy: LifecyclePolicy, session: Session): SessionPolicy {
  const base = tenantPolicy(policy, session.tenant);
  const meta = session.metadata;
  const invalid: string[] = [];
  const pick = <T>(key: string, parse: (v: unknown, n: string) => T, fallback: T | null): T | null => {
    const raw = meta[key];
    if (raw === undefined) return fallback;
    if (raw === "off") return null;
    try {
      return parse(raw, key);
    } catch {
      invalid.push(key);
      return fallback;
    }
  };
  const K = SESSION_OVERRIDE_KEYS;
  const resetHour = pick(
    K.reset,
    (v, n) => {
      // Digits only: Number("") and Number(null) are 0, Number("0x4") is 4, none of them an hour.
      const hour =
        typeof v === "number"
          ? v
          : typeof v === "string" && /^\s*\d{1,2}\s*$/.test(v)
            ? Number(v)
            : Number.NaN;
      if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new InvalidArgumentError(`${n}: 0..23`);
      return { hour, timeZone: base.reset?.timeZone ?? "UTC" };
    },
    base.reset,
  );
  return {
    idleTtlMs: session.idleTtlMs ?? pick(K.idleTtl, parseDurationMs, base.idleTtlMs),
    absoluteTtlMs: pick(K.absoluteTtl, parseDurationMs, base.absoluteTtlMs),
    maxSessionsPerOwner: base.maxSessionsPerOwner,
    maxItemsPerSession: pick(K.maxItems, parseCount, base.maxItemsPerSession),
    maxBytesPerSession: pick(K.maxBytes, parseSizeBytes, base.maxBytesPerSession),
    maxTokensPerSession: pick(K.maxTokens, parseCount, base.maxTokensPerSession),
    budgetBytes: base.budgetBytes,
    onExpiry: pick(K.onExpiry, parseExpiryAction, base.onExpiry) ?? base.onExpiry,
    reset: resetHour,
    invalidOverrides: invalid,
  };
}
