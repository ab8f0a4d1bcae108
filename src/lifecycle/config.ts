/**
 * The whole `lifecycle` config section: the retention policy (policy.ts) plus where archives and
 * the action log go and how the sweeper paces itself. Example (YAML):
 *
 * ```yaml
 * lifecycle:
 *   defaults: { idle_ttl: 7d, on_expiry: archive, max_sessions_per_owner: 50 }
 *   tenants: { acme: { storage_budget: 5GB, reset: { hour: 4, time_zone: Europe/Paris } } }
 *   global_budget: 50GB
 *   archive: { backend: dir, dir: ./data/archives, compression: gzip, retention: 90d }
 *   # or: archive: { backend: postgres, url: "postgres://…?schema=holdfast", compression: zstd }
 *   # or: archive: { backend: sqlite, url: "sqlite:./data/archives.db" }
 *   action_log: ./data/lifecycle-actions.jsonl
 *   sweeper: { interval: 5m, batch_size: 200, max_ops_per_second: 2000, pause: 10ms, pause_ratio: 0.5, lease_ttl: 30s }
 * ```
 */
import { InvalidArgumentError } from "../store/errors.ts";
import { ARCHIVE_BACKENDS, type ArchiveBackendKind } from "./archive-backend.ts";
import { ARCHIVE_COMPRESSIONS, type ArchiveCompression } from "./archive-format.ts";
import { type LifecyclePolicy, parseLifecyclePolicy } from "./policy.ts";
import { parseCount, parseDurationMs } from "./values.ts";

export interface SweeperSettings {
  intervalMs: number;
  batchSize: number;
  maxOpsPerSecond: number | null;
  pauseMs: number;
  /** After a batch of t ms the sweeper pauses `pauseRatio × t` (at least `pauseMs`). */
  pauseRatio: number;
  leaseTtlMs: number;
}

/** Where archives go (archive-open.ts opens it). */
export interface ArchiveSettings {
  backend: ArchiveBackendKind;
  /** The `dir` backend's directory. */
  dir: string;
  /** The table backends' database: `sqlite:<path>` or `postgres://…[?schema=]`. */
  url: string | null;
  compression: ArchiveCompression;
}

export interface LifecycleConfig {
  policy: LifecyclePolicy;
  archive: ArchiveSettings;
  /** `archive.dir` (kept for callers that only know directories). */
  archiveDir: string;
  actionLogPath: string;
  sweeper: SweeperSettings;
}

export const LIFECYCLE_DEFAULTS = Object.freeze({
  archiveDir: "./data/archives",
  archiveSqliteUrl: "sqlite:./data/archives.db",
  actionLogPath: "./data/lifecycle-actions.jsonl",
  sweeper: Object.freeze({
    intervalMs: 300_000,
    batchSize: 200,
    maxOpsPerSecond: null,
    pauseMs: 10,
    pauseRatio: 0,
    leaseTtlMs: 30_000,
  }),
});

function str(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === "string" && value.length > 0) return value;
  throw new InvalidArgumentError(`${name} must be a path (got ${JSON.stringify(value)}).`, { param: name });
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (allowed.includes(value as T)) return value as T;
  throw new InvalidArgumentError(
    `${name} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)}).`,
    {
      param: name,
    },
  );
}

/** Validates `lifecycle.archive` (its `retention` belongs to the policy). */
export function parseArchiveSettings(archive: Record<string, unknown>, name: string): ArchiveSettings {
  const backend = oneOf(archive.backend, `${name}.backend`, ARCHIVE_BACKENDS, "dir");
  const compression = oneOf(archive.compression, `${name}.compression`, ARCHIVE_COMPRESSIONS, "gzip");
  const dir = str(archive.dir, `${name}.dir`, LIFECYCLE_DEFAULTS.archiveDir);
  let url: string | null = null;
  if (backend === "dir") {
    if (archive.url !== undefined) {
      throw new InvalidArgumentError(
        `${name}.url is only read by the sqlite and postgres backends; set ${name}.backend, or remove url.`,
        { param: `${name}.url` },
      );
    }
  } else {
    if (archive.dir !== undefined) {
      throw new InvalidArgumentError(
        `${name}.dir is only read by the dir backend; the ${backend} backend stores archives at ${name}.url.`,
        { param: `${name}.dir` },
      );
    }
    const example =
      backend === "sqlite" ? "sqlite:./data/archives.db" : "postgres://user@host:5432/db?schema=holdfast";
    const fallback = backend === "sqlite" ? LIFECYCLE_DEFAULTS.archiveSqliteUrl : undefined;
    url = archive.url === undefined && fallback ? fallback : (archive.url as string);
    const scheme = backend === "sqlite" ? /^sqlite:.+/ : /^postgres(ql)?:\/\/.+/;
    if (typeof url !== "string" || !scheme.test(url)) {
      throw new InvalidArgumentError(
        `${name}.url must be a ${backend} URL like '${example}' for the ${backend} backend (got ${JSON.stringify(archive.url)}).`,
        { param: `${name}.url` },
      );
    }
  }
  return Object.freeze({ backend, dir, url, compression });
}

/** A pause ratio: a finite number ≥ 0 (0 = no pause in proportion to the batch's time). */
function ratio(value: unknown, name: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  throw new InvalidArgumentError(`${name} must be a number ≥ 0, e.g. 0.5 (got ${JSON.stringify(value)}).`, {
    param: name,
  });
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
  const known = ["interval", "batch_size", "max_ops_per_second", "pause", "pause_ratio", "lease_ttl"];
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
  const archiveSettings = parseArchiveSettings(archive, `${name}.archive`);
  return Object.freeze({
    policy,
    archive: archiveSettings,
    archiveDir: archiveSettings.dir,
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
      pauseRatio:
        sw.pause_ratio === undefined ? d.pauseRatio : ratio(sw.pause_ratio, `${name}.sweeper.pause_ratio`),
      leaseTtlMs:
        sw.lease_ttl === undefined
          ? d.leaseTtlMs
          : parseDurationMs(sw.lease_ttl, `${name}.sweeper.lease_ttl`),
    }),
  });
}
