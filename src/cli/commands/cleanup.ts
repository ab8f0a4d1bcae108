/**
 * `holdfast cleanup --dry-run|--enforce`: prints the lifecycle cleanup plan (src/lifecycle) as a
 * table or JSON, and with `--enforce` applies exactly that plan through the sweeper (holding
 * the lease, batched, logged). `--now` pins the planning instant, `--plan` enforces a plan saved
 * from `--dry-run --json`.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { loadServerConfig } from "../../config/load-config.ts";
import {
  type CleanupPlan,
  createArchiver,
  createFileActionLog,
  createSweeper,
  openArchiveBackend,
  parseCleanupPlan,
  parseLifecycleConfig,
  type Sweeper,
  type SweepReport,
} from "../../lifecycle/index.ts";
import { shredOrphanedKeysIn } from "../../security/at-rest.ts";
import { InvalidArgumentError, isHoldfastError } from "../../store/errors.ts";
import { intFlag } from "../flag-values.ts";
import { assertStoreExists, openStore } from "../store-flags.ts";
import { bytes, parseNow } from "./openclaw.ts";
import { formatTable } from "./sessions.ts";

interface CleanupFlags {
  dryRun?: boolean;
  enforce?: boolean;
  store?: string;
  archive?: string;
  config?: string;
  tenant?: string;
  json?: boolean;
  now?: string;
  plan?: string;
  archiveDir?: string;
  batchSize?: string;
}

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

function planText(plan: CleanupPlan, report: SweepReport | null): string {
  const rows = plan.actions.map((a) => [
    a.action,
    a.tenant === "default" ? a.sessionId : `${a.tenant}/${a.sessionId}`,
    a.owner ?? "-",
    duration(a.ageMs),
    `${a.items} items, ${bytes(a.bytes)}`,
    a.reason,
  ]);
  const out = [
    rows.length > 0
      ? formatTable(["ACTION", "SESSION", "OWNER", "AGE", "SIZE", "REASON"], rows)
      : "Nothing to clean up.",
    "",
  ];
  const totals = Object.entries(plan.totals.byReason).map(([reason, t]) => [
    reason,
    String(t.sessions),
    String(t.items),
    bytes(t.bytes),
  ]);
  totals.push(["total", String(plan.totals.sessions), String(plan.totals.items), bytes(plan.totals.bytes)]);
  out.push(formatTable(["REASON", "SESSIONS", "ITEMS", "FREED"], totals));
  if (plan.pinned.sessions > 0) {
    out.push(
      "",
      `Pinned (kept, counted in budgets): ${plan.pinned.sessions} session(s), ${bytes(plan.pinned.bytes)}`,
    );
  }
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  if (report) {
    out.push(
      "",
      `Enforced: ${report.done} done, ${report.skipped} skipped (changed since planned), ${report.errors} failed, ` +
        `${bytes(report.bytesFreed)} freed in ${report.durationMs} ms${report.leaseLost ? " — LEASE LOST, stopped early" : ""}`,
    );
  } else {
    out.push("", "Dry run: nothing was changed. Run with --enforce to apply this plan.");
  }
  return `${out.join("\n")}\n`;
}

/** A progress bar on stderr, only on a terminal. */
function progressBar(): (done: number, total: number) => void {
  if (process.stderr.isTTY !== true) return () => {};
  return (done, total) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    process.stderr.write(`\r\x1b[K[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}`);
    if (done >= total) process.stderr.write("\r\x1b[K");
  };
}

/** Why a file could not be read, as said of a missing input (docs/cli.md: bad input, exit 2). */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "does not exist";
  if (code === "EISDIR") return "is a directory, not a file";
  return `cannot be read (${(error as Error).message})`;
}

async function readPlan(path: string): Promise<CleanupPlan> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InvalidArgumentError(
      `--plan '${path}' ${unreadable(error)}; save a plan with 'holdfast cleanup --dry-run --json > plan.json'.`,
      { param: "plan", cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(
      `--plan '${path}' is not a plan written by 'holdfast cleanup --dry-run --json' (${(error as Error).message}).`,
      { param: "plan" },
    );
  }
  try {
    return parseCleanupPlan(value);
  } catch (error) {
    throw new InvalidArgumentError(`--plan '${path}': ${(error as Error).message} Nothing was applied.`, {
      param: "plan",
    });
  }
}

/** Applies `plan`; a plan the sweeper refuses (nothing applied) is named by its --plan file. */
async function applyPlan(
  sweeper: Sweeper,
  plan: CleanupPlan,
  file: string | undefined,
): Promise<SweepReport> {
  try {
    return await sweeper.apply(plan, { onProgress: progressBar() });
  } catch (error) {
    if (file === undefined || !isHoldfastError(error) || error.param !== "plan") throw error;
    throw new InvalidArgumentError(`--plan '${file}': ${error.message}`, { param: "plan", cause: error });
  }
}

async function runCleanup(flags: CleanupFlags): Promise<void> {
  if (Boolean(flags.dryRun) === Boolean(flags.enforce)) {
    throw new InvalidArgumentError("Pass exactly one of --dry-run or --enforce.", { param: "mode" });
  }
  if (flags.plan !== undefined && !flags.enforce) {
    throw new InvalidArgumentError("--plan is only used with --enforce.", { param: "plan" });
  }
  // A saved plan already fixes its instant and tenants: these would be silently ignored.
  for (const [flag, value] of [
    ["--tenant", flags.tenant],
    ["--now", flags.now],
  ] as const) {
    if (flags.plan !== undefined && value !== undefined) {
      throw new InvalidArgumentError(
        `--plan applies the saved plan as it is; ${flag} cannot change it (plan again with --dry-run ${flag} … --json).`,
        { param: flag.slice(2) },
      );
    }
  }
  // Checked before the store is opened: a loose --now (`5`, `Nov 21`) is refused, never guessed at.
  const now = flags.now === undefined ? undefined : parseNow(flags.now).getTime();
  // So is a --plan that is missing or is no plan: nothing is opened (or created) for it.
  const saved = flags.plan === undefined ? undefined : await readPlan(flags.plan);
  const config = await loadServerConfig({
    flags: { store: flags.store, config: flags.config },
    env: process.env,
  });
  const lifecycle = parseLifecycleConfig(config.file.lifecycle);
  const batchSize =
    flags.batchSize === undefined ? lifecycle.sweeper.batchSize : intFlag(flags.batchSize, "--batch-size", 1);
  // A tiered store (--store redis://… --archive postgres://…) sweeps its durable tier and drops hot replicas.
  const durable = flags.archive ?? process.env.HOLDFAST_ARCHIVE;
  assertStoreExists(config.store);
  if (durable) assertStoreExists(durable, "--archive");
  const store = await openStore({ url: config.store, ...(durable ? { archive: durable } : {}) });
  // --archive-dir replaces the configured backend by a directory (the configured one is not opened).
  const settings = flags.archiveDir
    ? { ...lifecycle.archive, backend: "dir" as const, dir: flags.archiveDir, url: null }
    : lifecycle.archive;
  const archives = await openArchiveBackend(settings).catch(async (error) => {
    await store.close();
    throw error;
  });
  for (const notice of archives.notices) process.stderr.write(`holdfast: warning: ${notice}\n`);
  const backend = archives.backend;
  try {
    const archiver = createArchiver(store, { backend });
    const sweeper = createSweeper({
      store,
      policy: lifecycle.policy,
      archiver,
      actionLog: createFileActionLog(lifecycle.actionLogPath),
      batchSize,
      maxOpsPerSecond: lifecycle.sweeper.maxOpsPerSecond,
      pauseMs: lifecycle.sweeper.pauseMs,
      pauseRatio: lifecycle.sweeper.pauseRatio,
      leaseTtlMs: lifecycle.sweeper.leaseTtlMs,
    });
    const plan = saved ?? (await sweeper.plan({ tenant: flags.tenant, now }));
    const report = flags.enforce ? await applyPlan(sweeper, plan, flags.plan) : null;
    // As serve's sweeper does after a sweep that changed something: the removed sessions' data
    // keys (encryption at rest) go too, or copies of their items in backups stay readable. Keys
    // younger than 10 minutes as of --now stay (a session being created has its key first).
    const keys =
      report && report.done > 0 ? await shredOrphanedKeysIn(store, now === undefined ? {} : { now }) : null;
    const shredded = keys ? { keysShredded: keys.shredded } : {};
    if (flags.json)
      process.stdout.write(`${JSON.stringify(report ? { plan, report, ...shredded } : plan, null, 2)}\n`);
    else process.stdout.write(planText(plan, report));
    if (keys && keys.shredded > 0 && !flags.json)
      process.stdout.write(`Data keys destroyed (sessions removed, encryption at rest): ${keys.shredded}\n`);
    if (report?.leaseLost) process.exitCode = 4;
    else if (report && report.errors > 0) process.exitCode = 1;
  } finally {
    await archives.backend.close();
    await store.close();
  }
}

export function registerCleanupCommand(program: Command): void {
  program
    .command("cleanup")
    .description(
      "Preview (--dry-run) or apply (--enforce) the lifecycle policies: expiry, limits, budgets, archives.",
    )
    .option("--dry-run", "print what would happen, change nothing")
    .option("--enforce", "apply the plan (holding the sweeper lease)")
    .option("-s, --store <url>", "store URL (env HOLDFAST_STORE, default sqlite:./data/holdfast.db)")
    .option(
      "--archive <url>",
      "durable tier behind --store, as given to holdfast serve (env HOLDFAST_ARCHIVE): the sweep acts on it and drops hot replicas",
    )
    .option(
      "-c, --config <file>",
      "JSON or YAML config file with a 'lifecycle' section (env HOLDFAST_CONFIG)",
    )
    .option(
      "-t, --tenant <tenant>",
      "only this tenant, as the admin route GET /v1/admin/cleanup/plan plans it (default: every tenant, and the global budget)",
    )
    .option("--json", "print the plan (and with --enforce the report) as JSON")
    .option(
      "--now <instant>",
      "plan as of this instant: ISO 8601 (2026-11-21T10:00:00Z, 2026-11-21) or epoch ms (default: now)",
    )
    .option(
      "--plan <file>",
      "with --enforce: apply this plan (from --dry-run --json) instead of planning again",
    )
    .option(
      "--archive-dir <dir>",
      "archive to this directory instead of the configured lifecycle.archive backend (dir, sqlite or postgres table; default ./data/archives)",
    )
    .option("--batch-size <n>", "actions per batch (default lifecycle.sweeper.batch_size or 200)")
    .addHelpText(
      "after",
      "\nArchives go where the config's lifecycle.archive says: backend dir (default), sqlite or postgres (a table),\ncompression gzip (default) or zstd (Node >= 22.15); see docs/lifecycle.md.\n\nExamples:\n  $ holdfast cleanup --dry-run --store sqlite:./data/holdfast.db\n  $ holdfast cleanup --dry-run --json > plan.json && holdfast cleanup --enforce --plan plan.json\n  $ holdfast cleanup --enforce --store redis://127.0.0.1:6379 --archive postgres://postgres@127.0.0.1/holdfast",
    )
    .action(async (flags: CleanupFlags) => {
      await runCleanup(flags);
    });
}
