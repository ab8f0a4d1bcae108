/**
 * The `gateway` section of the config file: how turns racing on one conversation behave and how
 * much memory the turn engine's window cache may hold (docs/configuration.md, docs/gateway.md).
 * Unknown keys are refused so typos do not pass.
 */
import { BUSY_DEFAULTS, BUSY_POLICIES, type BusyPolicy } from "../engine/turn/busy.ts";
import { parseDurationMs, parseSizeBytes } from "../lifecycle/values.ts";
import { defaultWindowCacheBytes } from "../store/decorators/window-cache.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import { isPlainObject } from "../store/validate.ts";

export interface GatewayConfig {
  busyPolicy: BusyPolicy;
  busyClaimTtlMs: number;
  busyMaxWaitMs: number;
  /** Bytes of parsed conversation windows kept in process; 0 turns the cache off. */
  windowCacheBytes: number;
}

const KEYS = ["busy_policy", "busy_claim_ttl", "busy_max_wait", "window_cache"] as const;

/** `window_cache`: a size (`256mb`, bytes), or `0` / `false` / `"off"` for no cache. */
function windowCacheBytes(value: unknown): number {
  if (value === undefined) return defaultWindowCacheBytes();
  if (value === 0 || value === false || value === "0" || value === "off") return 0;
  return parseSizeBytes(value, "gateway.window_cache");
}

export function parseGatewayConfig(section: unknown): GatewayConfig {
  if (section === undefined || section === null) section = {};
  if (!isPlainObject(section)) {
    throw new InvalidArgumentError("gateway must be an object.", { param: "gateway" });
  }
  for (const key of Object.keys(section)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(
        `gateway.${key} is not a gateway setting; use one of ${KEYS.join(", ")}.`,
        {
          param: `gateway.${key}`,
        },
      );
    }
  }
  const policy = section.busy_policy ?? BUSY_DEFAULTS.policy;
  if (!BUSY_POLICIES.includes(policy as BusyPolicy)) {
    throw new InvalidArgumentError(
      `gateway.busy_policy must be one of ${BUSY_POLICIES.join(", ")} (got ${JSON.stringify(policy)}).`,
      { param: "gateway.busy_policy" },
    );
  }
  const duration = (value: unknown, name: string, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    const ms = parseDurationMs(value, name);
    if (ms < min || ms > 86_400_000) {
      throw new InvalidArgumentError(`${name} must be from ${min} ms to 24h (got ${ms} ms).`, {
        param: name,
      });
    }
    return ms;
  };
  return Object.freeze({
    busyPolicy: policy as BusyPolicy,
    busyClaimTtlMs: duration(section.busy_claim_ttl, "gateway.busy_claim_ttl", BUSY_DEFAULTS.claimTtlMs, 100),
    busyMaxWaitMs: duration(section.busy_max_wait, "gateway.busy_max_wait", BUSY_DEFAULTS.maxWaitMs, 1),
    windowCacheBytes: windowCacheBytes(section.window_cache),
  });
}
