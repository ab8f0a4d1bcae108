/**
 * The whole `lifecycle` config section: the retention policy (policy.ts) plus where archives and
 * the action log go and how the sweeper paces itself. Example (YAML):
 *
 * ```yaml
 * lifecycle:
 *   defaults: { idle_ttl: 7d, on_expiry: archive, max_sessions_per_owner: 50 }
 *   tenants: { acme: { storage_budget: 5GB, reset: { hour: 4, time_zone: Europe/Paris } } }
 *   global_budget: 50GB
 *   archive: { dir: ./data/archives, retention: 90d }
 *   action_log: ./data/lifecycle-actions.jsonl
 *   sweeper: { interval: 5m, batch_size: 200, max_ops_per_second: 2000, pause: 10ms, lease_ttl: 30s }
 * ```
 */
import { InvalidArgumentError } from "../store/errors.ts";
import { type LifecyclePolicy, parseLifecyclePolicy } from "./policy.ts";
import { parseCount, parseDurationMs } from "./values.ts";

export interface SweeperSettings {
  intervalMs: number;
  batchSize: number;
  maxOpsPerSecond: number | null;
  pauseMs: number;
  leaseTtlMs: number;
}

export interface LifecycleConfig {
  policy: LifecyclePolicy;
  archiveDir: string;
  actionLogPath: string;
  sweeper: SweeperSettings;
}

export const LIFECYCLE_DEFAULTS = Object.freeze({
  archiveDir: "./data/archives",
  actionLogPath: "./data/lifecycle-actions.jsonl",
  sweeper: Object.freeze({
    intervalMs: 300_000,
    batchSize: 200,
    maxOpsPerSecond: null,
    pauseMs: 10,
    leaseTtlMs: 30_000,
  }),
});

function str(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === "string" && value.length > 0) return value;
  throw new InvalidArgumentError(`${name} must be a path (got ${JSON.stringify(value)}).`, { param: name });
}

/** Parses `section` (the `lifecycle` key of the config file; undefined → defaults, no limits). */
export function parseLifecycleConfig(section: unknown, name = "lifecycle"): LifecycleConfig {
  const policy = parseLifecyclePolicy(section, name);
  const raw = (section ?? {}) as Record<string, unknown>;
  const archive = (raw.archive ?? {}) as Record<string, unknown>;
  const sw = (raw.sweeper ?? {}) as Record<string, unknown>;
  if (typeof sw !== "object" || Array.isArray(sw)) {
    throw new InvalidArgumentError(`${name}.sweeper must be an object.`, { param: `${name}.sweeper` });
  }
  const known = ["interval", "batch_size", "max_ops_per_second", "pause", "lease_ttl"];
  for (const key of Object.keys(sw)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(
        `${name}.sweeper.${key} is not a sweeper setting; use one of ${known.join(", ")}.`,
        {
          param: `${name}.sweeper.${key}`,
        },
      );
    }
  }
  const d = LIFECYCLE_DEFAULTS.sweeper;
  return Object.freeze({
    policy,
    archiveDir: str(archive.dir, `${name}.archive.dir`, LIFECYCLE_DEFAULTS.archiveDir),
    actionLogPath: str(raw.action_log, `${name}.action_log`, LIFECYCLE_DEFAULTS.actionLogPath),
    sweeper: Object.freeze({
      intervalMs:
        sw.interval === undefined ? d.intervalMs : parseDurationMs(sw.interval, `${name}.sweeper.interval`),
      batchSize:
        sw.batch_size === undefined ? d.batchSize : parseCount(sw.batch_size, `${name}.sweeper.batch_size`),
      maxOpsPerSecond:
        sw.max_ops_per_second === undefined
          ? d.maxOpsPerSecond
          : parseCount(sw.max_ops_per_second, `${name}.sweeper.max_ops_per_second`),
      pauseMs:
        sw.pause === undefined
          ? d.pauseMs
          : sw.pause === 0
            ? 0
            : parseDurationMs(sw.pause, `${name}.sweeper.pause`),
      leaseTtlMs:
        sw.lease_ttl === undefined
          ? d.leaseTtlMs
          : parseDurationMs(sw.lease_ttl, `${name}.sweeper.lease_ttl`),
    }),
  });
}
