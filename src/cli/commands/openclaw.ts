/**
 * `holdfast openclaw audit|import|cleanup|export`: thin wrappers over src/interop/openclaw.
 * Reports are tables by default and the library's JSON with `--json`.
 */

import type { Command } from "commander";
import { loadServerConfig } from "../../config/load-config.ts";
import {
  type AuditReport,
  applyCleanup,
  auditStateDir,
  type CleanupOptions,
  type CleanupPlan,
  DEFAULT_CLEANUP,
  exportTranscript,
  type ImportWarning,
  importStateDir,
  type OpenClawImportReport,
  planCleanup,
} from "../../interop/openclaw/index.ts";
import { refuseKeylessWrites } from "../../security/at-rest.ts";
import { InvalidArgumentError, isHoldfastError } from "../../store/errors.ts";
import { archiveReader } from "../archive-reader.ts";
import { instantFlag, withFlagNames, withMessage } from "../flag-values.ts";
import { interruptible } from "../interrupt.ts";
import { writeOutputFile } from "../output-file.ts";
import { openArchived, storeOptions, withContentStore } from "../store-flags.ts";
import { formatTable } from "./sessions.ts";

interface StoreFlags {
  store?: string;
  config?: string;
  tenant: string;
}

/** `30d`, `12h`, `90m`, `45s`, `500ms` → milliseconds. */
export function parseDuration(value: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(value.trim());
  if (!m)
    throw new InvalidArgumentError(`${name} must be a duration like 30d, 12h or 90m (got '${value}').`, {
      param: name,
    });
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2] as "ms"];
  return Math.round(Number(m[1]) * unit);
}

/** `--now` as a Date (see `instantFlag`), or the current instant when it is not given. */
export function parseNow(value: string | undefined): Date {
  return value === undefined ? new Date() : instantFlag(value, "--now");
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function auditText(report: AuditReport): string {
  const out: string[] = [`OpenClaw state ${report.stateDir} (ages at ${report.referenceDate})`];
  for (const p of report.skipped) out.push(`not followed ${p.path}: ${p.problem}`);
  for (const [agentId, agent] of Object.entries(report.agents)) {
    out.push(
      "",
      `agent ${agentId}  (${agent.sessionsDir})${agent.indexError ? `  INDEX: ${agent.indexError}` : ""}`,
    );
    const rows = Object.entries(agent.audit.artifacts).map(([c, u]) => [
      c,
      String(u.count),
      bytes(u.bytes),
      String(u.olderThan30Days),
    ]);
    out.push(formatTable(["CLASS", "FILES", "SIZE", ">30D"], rows));
    for (const l of agent.audit.staleLocks)
      out.push(`  stale lock ${l.file} (pid ${l.pid ?? "?"}, ${Math.round(l.ageMs / 3.6e6)} h old)`);
    for (const l of agent.audit.liveLocks) out.push(`  live lock ${l.file} (pid ${l.pid ?? "?"})`);
    for (const k of agent.audit.entriesMissingTranscript) out.push(`  missing transcript for ${k}`);
    for (const [key, e] of Object.entries(agent.entries)) {
      if (e.problem !== null) out.push(`  unreadable ${key}: ${e.problem}`);
      if (e.tornLines > 0) out.push(`  ${e.tornLines} torn line(s) in ${e.transcript} (${key})`);
      if (e.unansweredToolCalls.length > 0)
        out.push(
          `  ${e.unansweredToolCalls.length} tool call(s) without result on the active branch of ${key}`,
        );
      if (e.orphanToolResultsOnPath > 0)
        out.push(`  ${e.orphanToolResultsOnPath} orphan tool result(s) on the active branch of ${key}`);
    }
  }
  out.push(
    ...warningLines(
      Object.entries(report.agents).flatMap(([, a]) =>
        Object.entries(a.entries).map(([key, e]) => ({ key, warnings: e.warnings })),
      ),
    ),
  );
  const t = report.totals;
  out.push(
    "",
    `${t.agents} agent(s), ${t.entries} index entries, ${t.files} files, ${bytes(t.bytes)}; ${t.staleLocks} stale lock(s), ${t.entriesMissingTranscript} missing transcript(s), ${t.entriesUnreadableTranscript} unreadable, ${t.tornLines} torn line(s), ${t.unansweredToolCalls} unanswered tool call(s), ${t.orphanToolResults} orphan result(s), ${warningTotals(t.warnings)}`,
  );
  return `${out.join("\n")}\n`;
}

/**
 * What stopped an import (a store outage) with what it leaves: the
 * sessions before it stay imported, and a re-run finds them and finishes (the import is idempotent).
 */
function stoppedAfter(error: unknown, done: number): unknown {
  if (done === 0 || !(error instanceof Error)) return error;
  const message = `${error.message} (the import stopped after ${done} session(s) of the index, and those it imported stay; fix this and run it again: it leaves what is already imported as it is and imports the rest)`;
  return isHoldfastError(error) ? withMessage(error, message) : new Error(message, { cause: error });
}

function notes(report: OpenClawImportReport): string {
  const lines = report.problems.map((p) => `\n  problem ${p.path}: ${p.problem}`);
  for (const s of report.sessions) if (s.note) lines.push(`\n  ${s.status} ${s.key}: ${s.note}`);
  for (const line of warningLines(report.sessions)) lines.push(`\n${line}`);
  return lines.join("");
}

/**
 * One line per warning, but `not_imported` ones (OpenClaw writes bookkeeping entries such as
 * `openclaw.cache-ttl` after every turn, so nearly every session has some) are folded into one line
 * per kind of entry across sessions; `--json` keeps each with its session.
 */
function warningLines(sessions: readonly { key: string; warnings: readonly ImportWarning[] }[]): string[] {
  const lines: string[] = [];
  const notImported = new Map<string, number>();
  for (const s of sessions) {
    for (const w of s.warnings) {
      if (w.code === "not_imported" && w.kind) notImported.set(w.kind, (notImported.get(w.kind) ?? 0) + 1);
      else lines.push(`  warning ${s.key}: ${w.code}: ${w.message}`);
    }
  }
  if (notImported.size > 0) {
    const kinds = [...notImported].map(([kind, n]) => `${kind} in ${n} session(s)`).join(", ");
    lines.push(
      `  not imported, left in the transcripts (extension state, not model context; --json names each): ${kinds}`,
    );
  }
  return lines;
}

/** `2 warning(s) (1 duplicate_entry_id, …)`: the codes that occurred, with their counts. */
function warningTotals(counts: Record<string, number>): string {
  const named = Object.entries(counts).filter(([, n]) => n > 0);
  const total = named.reduce((sum, [, n]) => sum + n, 0);
  return total === 0
    ? "0 warnings"
    : `${total} warning(s) (${named.map(([code, n]) => `${n} ${code}`).join(", ")})`;
}

function importText(report: OpenClawImportReport): string {
  const rows = report.sessions.map((s) => [
    s.status,
    s.agentId,
    s.key.length > 48 ? `${s.key.slice(0, 47)}…` : s.key,
    s.sessionId,
    String(s.items),
    String(s.written),
    String(s.forks.length),
    String(s.tornLines.length),
    String(s.warnings.length),
  ]);
  const t = report.totals;
  return `${formatTable(["STATUS", "AGENT", "KEY", "SESSION", "ITEMS", "WRITTEN", "FORKS", "TORN", "WARN"], rows)}\n\n${t.created} created, ${t.appended} appended, ${t.updated} updated, ${t.unchanged} unchanged, ${t.diverged} diverged, ${t.missing} missing, ${t.failed} failed, ${t.problems} problem(s); ${t.forks} fork(s), ${t.itemsWritten} item(s) written, ${t.tornLines} torn line(s) skipped, ${t.truncatedItems} oversized item(s) shrunk, ${warningTotals(t.warnings)}${notes(report)}\n`;
}

function planText(plan: CleanupPlan, enforced: boolean): string {
  const rows = plan.actions.map((a) => [a.action, a.class, a.file, bytes(a.bytes), a.reason]);
  const head = enforced ? "Done:" : "Dry run — nothing changed. Would do:";
  return `${head}\n${formatTable(["ACTION", "CLASS", "FILE", "SIZE", "REASON"], rows)}\n\n${plan.totals.files} file(s), ${bytes(plan.totals.bytes)}\n`;
}

interface CleanupFlags {
  dryRun?: boolean;
  enforce?: boolean;
  olderThan?: string;
  archivesOlderThan?: string;
  orphans?: boolean;
  staleLocks?: boolean;
  includeLive?: boolean;
  json?: boolean;
  now?: string;
}

function cleanupOptions(flags: CleanupFlags): CleanupOptions {
  const now = parseNow(flags.now);
  const given =
    flags.olderThan ?? flags.archivesOlderThan ?? flags.orphans ?? flags.staleLocks ?? flags.includeLive;
  if (given === undefined) return { ...DEFAULT_CLEANUP, now };
  return {
    now,
    olderThanMs: flags.olderThan === undefined ? undefined : parseDuration(flags.olderThan, "--older-than"),
    archivesOlderThanMs:
      flags.archivesOlderThan === undefined
        ? undefined
        : parseDuration(flags.archivesOlderThan, "--archives-older-than"),
    orphans: flags.orphans,
    staleLocks: flags.staleLocks,
    includeLive: flags.includeLive,
  };
}

export function registerOpenClawCommand(program: Command): void {
  const oc = program
    .command("openclaw")
    .description("Audit, import, clean up and export OpenClaw session state.");

  oc.command("audit <stateDir>")
    .description(
      "Disk usage per artifact class, stale locks, missing transcripts, torn lines, unpaired tool calls.",
    )
    .option("--json", "print the full report as JSON")
    .option(
      "--now <instant>",
      "reference date for ages: ISO 8601 (2026-11-21T10:00:00Z, 2026-11-21) or epoch ms (default: now)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ holdfast openclaw audit ~/.openclaw\n  $ holdfast openclaw audit ~/.openclaw --json --now 2026-11-01T00:00:00Z",
    )
    .action(async (stateDir: string, flags: { json?: boolean; now?: string }) => {
      const report = await auditStateDir(stateDir, { now: parseNow(flags.now) });
      if (flags.json) printJson(report);
      else process.stdout.write(auditText(report));
    });

  storeOptions(
    oc
      .command("import <stateDir>")
      .description("Import every session (active branch, other branches as forks); safe to re-run."),
  )
    .option("--json", "print the per-session report as JSON")
    .addHelpText(
      "after",
      "\nExits 1 after the report when a session failed or its transcript is missing, or an agent's index or\nsessions dir was not read (a symbolic link out of the state dir is not followed; one to nothing is reported); warnings do not.\nWithout the keyring, an import into a store that holds encrypted sessions exits 2 before writing anything.\n\nExamples:\n  $ holdfast openclaw import ~/.openclaw --store sqlite:./data/holdfast.db\n  $ holdfast openclaw import ~/.openclaw --tenant alice --json",
    )
    .action(async (stateDir: string, flags: StoreFlags & { json?: boolean }) => {
      const tty = process.stderr.isTTY === true;
      let n = 0;
      const report = await withContentStore(flags, async (store) => {
        // Without the keys, a store that encrypts gets no plaintext (new sessions or appends).
        await refuseKeylessWrites(store);
        return importStateDir(store, stateDir, {
          tenant: flags.tenant,
          onSession: (s) => {
            n++;
            if (tty)
              process.stderr.write(
                `\r\x1b[Kimporting… ${n} session(s), last ${s.key.slice(0, 50)} (${s.status})`,
              );
          },
        });
      }).catch((error: unknown) => {
        if (tty) process.stderr.write("\r\x1b[K");
        throw stoppedAfter(error, n);
      });
      if (tty) process.stderr.write("\r\x1b[K");
      if (flags.json) printJson(report);
      else process.stdout.write(importText(report));
      // The report is complete either way; the exit code tells a script that not everything the
      // state dir names was imported (sessions failed or missing, an index or dir not read).
      const t = report.totals;
      if (t.failed + t.missing + t.problems > 0) process.exitCode = 1;
    });

  oc.command("cleanup <stateDir>")
    .description(
      "Plan (--dry-run) or apply (--enforce) retention on OpenClaw debris. Live transcripts are kept unless --include-live.",
    )
    .option("--dry-run", "print what would be removed, change nothing")
    .option("--enforce", "remove exactly what the dry run lists")
    .option("--older-than <duration>", "temp files, .bak copies and index backups older than this (e.g. 30d)")
    .option("--archives-older-than <duration>", ".reset/.deleted archives older than this")
    .option("--orphans", "transcripts no index entry references (older than --older-than when given)")
    .option("--stale-locks", "lock files older than 30 minutes")
    .option("--include-live", "also live transcripts older than --older-than, with their index entries")
    .option("--json", "print the plan (and result) as JSON")
    .option(
      "--now <instant>",
      "reference date for ages: ISO 8601 (2026-11-21T10:00:00Z, 2026-11-21) or epoch ms (default: now)",
    )
    .addHelpText(
      "after",
      "\nWithout retention options: --older-than 30d --archives-older-than 30d --stale-locks.\n\nExamples:\n  $ holdfast openclaw cleanup ~/.openclaw --dry-run\n  $ holdfast openclaw cleanup ~/.openclaw --enforce --archives-older-than 14d --orphans",
    )
    .action(async (stateDir: string, flags: CleanupFlags) => {
      if (Boolean(flags.dryRun) === Boolean(flags.enforce)) {
        throw new InvalidArgumentError("Pass exactly one of --dry-run or --enforce.", { param: "dry-run" });
      }
      const plan = await withFlagNames(
        {
          includeLive: "--include-live",
          olderThanMs: "--older-than",
          archivesOlderThanMs: "--archives-older-than",
        },
        () => planCleanup(stateDir, cleanupOptions(flags)),
      );
      if (flags.dryRun) {
        if (flags.json) printJson(plan);
        else process.stdout.write(planText(plan, false));
        return;
      }
      const result = applyCleanup(plan);
      if (flags.json) printJson({ plan, result });
      else {
        process.stdout.write(planText({ ...plan, actions: result.done }, true));
        for (const s of result.skipped) process.stdout.write(`skipped ${s.file}: ${s.skippedBecause}\n`);
      }
    });

  storeOptions(
    oc.command("export <sessionId>").description("Write a Holdfast session as an OpenClaw v3 transcript."),
  )
    .requiredOption("-o, --out <file>", "output file (.jsonl), or - for stdout")
    .option(
      "--archive-dir <dir>",
      "read an archived session from this directory instead of the configured lifecycle.archive (default ./data/archives)",
    )
    .option("--json", "print a JSON summary (to stderr when the transcript goes to stdout)")
    .addHelpText(
      "after",
      "\nA session the lifecycle archived is exported with its items, read from the archive backend the\nconfig's lifecycle.archive names (or --archive-dir); if its archive cannot be read, nothing is written.\n\nExamples:\n  $ holdfast openclaw export conv_0123… --store sqlite:./data/holdfast.db --out 4e9f….jsonl\n  $ holdfast openclaw export conv_0123… --out - --json > 4e9f….jsonl",
    )
    .action(
      async (sessionId: string, flags: StoreFlags & { out: string; archiveDir?: string; json?: boolean }) => {
        // An archived session's items are in the archive backend: a transcript without them would lose them.
        const { file } = await loadServerConfig({ flags: { config: flags.config }, env: process.env });
        const archives = archiveReader(file, flags.archiveDir);
        const summary = await withContentStore(
          flags,
          async (store) => {
            const options = {
              readArchive: async (tenant: string, id: string) =>
                openArchived(store, tenant, id, await archives.read(tenant, id)),
            };
            if (flags.out === "-")
              return exportTranscript(store, flags.tenant, sessionId, process.stdout, options);
            // Ctrl-C removes the unfinished file (exit 130); to stdout, the default stop is fine.
            return interruptible(
              (signal) =>
                writeOutputFile(
                  flags.out,
                  (out) => exportTranscript(store, flags.tenant, sessionId, out, options),
                  signal,
                ),
              () => `no file was written (--out '${flags.out}')`,
            );
          },
          { mustExist: true },
        ).finally(() => archives.close());
        if (flags.json) {
          // As sessions export --json: on stdout, unless the transcript itself is there.
          const text = `${JSON.stringify({ sessionId, out: flags.out, ...summary }, null, 2)}\n`;
          (flags.out === "-" ? process.stderr : process.stdout).write(text);
        } else if (flags.out !== "-") {
          process.stderr.write(
            `wrote ${summary.entries} entries (${summary.items} items, ${bytes(summary.bytes)}) to ${flags.out}\n`,
          );
        }
      },
    );
}
