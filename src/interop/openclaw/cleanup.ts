/**
 * OpenClaw cleanup in two steps: `planCleanup` lists what retention would remove (action, file,
 * class, bytes, reason) without touching anything; `applyCleanup` does exactly that list and
 * nothing else, skipping any file that changed since the plan (size or mtime). Live transcripts
 * that an index entry references are never planned unless `includeLive` asks for it, and then
 * their index entries are removed with them so the index never points at a missing file.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { InvalidArgumentError } from "../../store/errors.ts";
import { type ArtifactClass, readLock } from "./artifacts.ts";
import { listArtifacts } from "./audit.ts";
import { findAgentDirs, readSessionIndex } from "./state-dir.ts";

export interface CleanupOptions {
  /** Reference date for ages. Default now. */
  now?: Date;
  /** Remove temp files, transcript `.bak-` copies and index backups older than this (ms). */
  olderThanMs?: number;
  /** Remove `.reset.` / `.deleted.` archives older than this (ms). */
  archivesOlderThanMs?: number;
  /** Remove transcripts no index entry references (older than `olderThanMs` when set). */
  orphans?: boolean;
  /** Remove locks older than `staleLockMs`. */
  staleLocks?: boolean;
  /** Also remove live transcripts (and their index entries) last written before `olderThanMs`. */
  includeLive?: boolean;
  /** Default 30 minutes. */
  staleLockMs?: number;
}

export interface CleanupAction {
  action: "delete" | "unindex";
  agentId: string;
  /** Path relative to the state dir. */
  file: string;
  class: ArtifactClass;
  bytes: number;
  mtime: string;
  reason: string;
  /** For `unindex` and live transcripts: the session key removed from sessions.json. */
  key?: string;
}

export interface CleanupPlan {
  stateDir: string;
  referenceDate: string;
  actions: CleanupAction[];
  totals: { files: number; bytes: number; byClass: Record<string, { files: number; bytes: number }> };
}

export interface CleanupResult {
  done: CleanupAction[];
  skipped: (CleanupAction & { skippedBecause: string })[];
  bytesFreed: number;
}

/** Defaults when no retention option is given: 30-day debris and archives, stale locks. */
export const DEFAULT_CLEANUP: Readonly<CleanupOptions> = Object.freeze({
  olderThanMs: 30 * 86_400_000,
  archivesOlderThanMs: 30 * 86_400_000,
  staleLocks: true,
});

function days(ms: number): string {
  return `${Math.round((ms / 86_400_000) * 10) / 10}d`;
}

function checkMs(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
    throw new InvalidArgumentError(`${name} must be a non-negative duration.`, { param: name });
  }
}

/** Builds the plan; reads only. */
export function planCleanup(stateDir: string, options: CleanupOptions = {}): CleanupPlan {
  checkMs(options.olderThanMs, "olderThanMs");
  checkMs(options.archivesOlderThanMs, "archivesOlderThanMs");
  if (options.includeLive && options.olderThanMs === undefined) {
    throw new InvalidArgumentError(
      "includeLive needs olderThanMs: say how old a live transcript must be to go.",
      { param: "olderThanMs" },
    );
  }
  const now = (options.now ?? new Date()).getTime();
  const staleLockMs = options.staleLockMs ?? 30 * 60_000;
  const actions: CleanupAction[] = [];
  for (const agent of findAgentDirs(stateDir)) {
    const index = readSessionIndex(agent.dir, stateDir);
    const byFile = new Map(index.entries.map((e) => [e.fileName, e.key]));
    for (const f of listArtifacts(stateDir, agent, new Set(byFile.keys()), now).files) {
      // Removing a link would free nothing of its target: symbolic links are left alone.
      if (f.symlink !== undefined) continue;
      const age = now - f.mtimeMs;
      const base = {
        action: "delete" as const,
        agentId: agent.agentId,
        file: relative(stateDir, join(agent.dir, f.name)).split("\\").join("/"),
        class: f.class,
        bytes: f.bytes,
        mtime: f.mtime,
      };
      const old = (limit: number | undefined): boolean => limit !== undefined && age > limit;
      let reason: string | null = null;
      switch (f.class) {
        case "tmp":
        case "bak":
        case "storeBackup":
          if (old(options.olderThanMs)) reason = `${f.class} older than ${days(options.olderThanMs!)}`;
          break;
        case "resetArchive":
        case "deletedArchive":
          if (old(options.archivesOlderThanMs))
            reason = `archive older than ${days(options.archivesOlderThanMs!)}`;
          break;
        case "orphanTranscript":
          if (options.orphans && (options.olderThanMs === undefined || old(options.olderThanMs)))
            reason = "transcript referenced by no index entry";
          break;
        case "lock":
          if (options.staleLocks) {
            const lock = readLock(join(agent.dir, f.name), f.name, f.mtimeMs, now, staleLockMs);
            if (lock.stale) reason = `stale lock (pid ${lock.pid ?? "?"}, created ${lock.createdAt})`;
          }
          break;
        case "liveTranscript":
          if (options.includeLive && old(options.olderThanMs) && !index.error) {
            reason = `live transcript older than ${days(options.olderThanMs!)} (explicitly included)`;
            const key = byFile.get(f.name)!;
            actions.push({
              ...base,
              action: "unindex",
              file: relative(stateDir, join(agent.dir, "sessions.json")).split("\\").join("/"),
              class: "index",
              bytes: 0,
              key,
              reason: `index entry of ${f.name}`,
            });
          }
          break;
        default:
          break;
      }
      if (reason)
        actions.push(
          f.class === "liveTranscript" ? { ...base, key: byFile.get(f.name)!, reason } : { ...base, reason },
        );
    }
  }
  const totals: CleanupPlan["totals"] = { files: 0, bytes: 0, byClass: {} };
  for (const a of actions) {
    if (a.action !== "delete") continue;
    totals.files++;
    totals.bytes += a.bytes;
    totals.byClass[a.class] ??= { files: 0, bytes: 0 };
    const c = totals.byClass[a.class]!;
    c.files++;
    c.bytes += a.bytes;
  }
  return { stateDir, referenceDate: new Date(now).toISOString(), actions, totals };
}

function removeIndexEntries(path: string, keys: string[]): void {
  const index = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  for (const key of keys) delete index[key];
  // Write-then-rename so a crash leaves either the old or the new index, never a torn one.
  const tmp = `${path}.${process.pid}.holdfast-cleanup.tmp`;
  writeFileSync(tmp, `${JSON.stringify(index, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Carries out exactly the plan's actions; files that changed since the plan are skipped. */
export function applyCleanup(plan: CleanupPlan): CleanupResult {
  const result: CleanupResult = { done: [], skipped: [], bytesFreed: 0 };
  const deletions: CleanupAction[] = [];
  for (const a of plan.actions) {
    if (a.action !== "delete") continue;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(join(plan.stateDir, a.file));
    } catch {
      result.skipped.push({ ...a, skippedBecause: "already gone" });
      continue;
    }
    if (st.size !== a.bytes || new Date(st.mtimeMs).toISOString() !== a.mtime) {
      result.skipped.push({ ...a, skippedBecause: "changed since the plan" });
      continue;
    }
    deletions.push(a);
  }
  // Index entries go first, and only for live transcripts about to be deleted: a crash between
  // the two steps leaves an orphan transcript (harmless), never an entry without its file.
  const liveKeys = new Set(deletions.filter((a) => a.key !== undefined).map((a) => `${a.agentId}\0${a.key}`));
  const unindex = new Map<string, CleanupAction[]>();
  for (const a of plan.actions) {
    if (a.action !== "unindex") continue;
    if (!liveKeys.has(`${a.agentId}\0${a.key}`)) {
      result.skipped.push({ ...a, skippedBecause: "its transcript is not being deleted" });
      continue;
    }
    unindex.set(a.file, [...(unindex.get(a.file) ?? []), a]);
  }
  for (const [file, actions] of unindex) {
    removeIndexEntries(
      join(plan.stateDir, file),
      actions.map((a) => a.key!),
    );
    result.done.push(...actions);
  }
  for (const a of deletions) {
    rmSync(join(plan.stateDir, a.file));
    result.done.push(a);
    result.bytesFreed += a.bytes;
  }
  return result;
}
