/**
 * `auditStateDir`: what an OpenClaw state dir holds and what is wrong with it — disk usage per
 * artifact class, stale and live locks, index entries whose transcript is missing, torn lines,
 * tool calls left without results on the active branch and orphan results, transcripts that cannot
 * be read (an entry with a `problem`; the audit goes on), and what an import would warn about each
 * transcript (it is parsed in full anyway; the warnings only add a pass over its entries).
 * Read-only. Ages are measured against an injectable reference date, never the wall clock alone.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ARTIFACT_CLASSES, type ArtifactClass, classifyFile, type LockInfo, readLock } from "./artifacts.ts";
import { checkInside, realStateDir } from "./containment.ts";
import {
  type AgentDir,
  type IndexEntry,
  keyKind,
  readSessionIndex,
  type SkippedPath,
  scanStateDir,
} from "./state-dir.ts";
import { readTranscriptFile } from "./transcript.ts";
import { transcriptWarnings } from "./transcript-warnings.ts";
import { analyzeTranscript } from "./tree.ts";
import { type ImportWarning, type ImportWarningCode, noWarnings } from "./warnings.ts";

export const DAY_MS = 86_400_000;

export interface AuditOptions {
  /** Reference date for ages. Default: now. */
  now?: Date;
  /** A lock older than this is stale. Default 30 minutes. */
  staleLockMs?: number;
}

export interface EntryReport {
  sessionId: string;
  keyKind: string;
  updatedAt: string | null;
  /** Path relative to the state dir, or null when the file is missing. */
  transcript: string | null;
  formatVersion: 1 | 2 | 3 | null;
  totalEntries: number;
  tornLines: number;
  /** Root → leaf; v1 entries are identified by their line number. */
  activePathIds: (string | number)[];
  contextMessageCount: number;
  toolCallsOnPath: number;
  toolResultsOnPath: number;
  orphanToolResultsOnPath: number;
  compactionsOnPath: number;
  hasBranches: boolean;
  unansweredToolCalls: string[];
  tornLineNumbers: number[];
  /**
   * What `openclaw import` would warn about this transcript (repeated entry ids, messages or
   * content no item carries, entries left in the transcript), in file order; see docs/openclaw.md.
   */
  warnings: ImportWarning[];
  /**
   * Why the transcript could not be read (a directory where the file should be, no permission,
   * bytes that are not UTF-8, a symbolic link leading out of the state dir — what `openclaw
   * import` fails the session for), else null.
   */
  problem: string | null;
}

export interface FileReport {
  name: string;
  class: ArtifactClass;
  bytes: number;
  mtime: string;
  olderThan30Days: boolean;
  /** Set when the file is a symbolic link (inside the state dir): its target, relative to the state dir. */
  symlink?: string;
}

export interface ClassUsage {
  count: number;
  bytes: number;
  olderThan30Days: number;
}

export interface AgentAudit {
  sessionsDir: string;
  indexError: string | null;
  entries: Record<string, EntryReport>;
  audit: {
    artifacts: Record<(typeof ARTIFACT_CLASSES)[number], ClassUsage>;
    staleLocks: Omit<LockInfo, "stale">[];
    liveLocks: Omit<LockInfo, "stale">[];
    entriesMissingTranscript: string[];
    /** Keys of entries whose transcript exists but cannot be read (see `EntryReport.problem`). */
    entriesUnreadableTranscript: string[];
  };
  files: FileReport[];
}

export interface AuditReport {
  stateDir: string;
  referenceDate: string;
  totals: {
    agents: number;
    entries: number;
    files: number;
    bytes: number;
    tornLines: number;
    unansweredToolCalls: number;
    orphanToolResults: number;
    staleLocks: number;
    entriesMissingTranscript: number;
    entriesUnreadableTranscript: number;
    /** Entries' `warnings`, by code. */
    warnings: Record<ImportWarningCode, number>;
  };
  agents: Record<string, AgentAudit>;
  /**
   * What was not followed: agent and sessions dirs, and files of a sessions dir, that are symbolic
   * links leading out of the state dir (or, for files, to nothing).
   */
  skipped: SkippedPath[];
}

/** The counts of an entry whose transcript was not read (fresh arrays: reports are mutable). */
function emptyEntry(transcript: string | null, problem: string | null) {
  return {
    transcript,
    formatVersion: null,
    totalEntries: 0,
    tornLines: 0,
    activePathIds: [],
    contextMessageCount: 0,
    toolCallsOnPath: 0,
    toolResultsOnPath: 0,
    orphanToolResultsOnPath: 0,
    compactionsOnPath: 0,
    hasBranches: false,
    unansweredToolCalls: [],
    tornLineNumbers: [],
    warnings: [],
    problem,
  };
}

async function auditEntry(
  stateDir: string,
  root: string,
  agent: AgentDir,
  entry: IndexEntry,
): Promise<EntryReport> {
  const path = join(agent.dir, entry.fileName);
  const updated = entry.data.updatedAt;
  const base = {
    sessionId: entry.sessionId,
    keyKind: keyKind(entry.key),
    updatedAt: typeof updated === "number" ? new Date(updated).toISOString() : null,
  };
  const where = checkInside(root, path, `transcript ${entry.fileName}`);
  if (where.kind === "missing") return { ...base, ...emptyEntry(null, null) };
  const transcript = relative(stateDir, path).split("\\").join("/");
  // Not followed out of the state dir, as import does not follow it.
  if (where.kind === "outside") return { ...base, ...emptyEntry(transcript, where.problem) };
  // Read as import reads it, so the audit names the sessions an import would fail.
  const read = await readTranscriptFile(path, entry.fileName);
  if ("problem" in read) return { ...base, ...emptyEntry(transcript, read.problem) };
  const { parsed } = read;
  const a = analyzeTranscript(parsed);
  return {
    ...base,
    transcript,
    formatVersion: parsed.formatVersion,
    totalEntries: parsed.entries.length,
    tornLines: parsed.tornLines.length,
    activePathIds: a.path.map((e) => (parsed.formatVersion === 1 ? e.line : e.id)),
    contextMessageCount: a.contextMessageCount,
    toolCallsOnPath: a.toolCallsOnPath,
    toolResultsOnPath: a.toolResultsOnPath,
    orphanToolResultsOnPath: a.orphanToolResultIds.length,
    compactionsOnPath: a.compactionsOnPath,
    hasBranches: a.hasBranches,
    unansweredToolCalls: a.unansweredToolCallIds,
    tornLineNumbers: parsed.tornLines,
    warnings: transcriptWarnings(parsed, a),
    problem: null,
  };
}

/** What `listArtifacts` found in a sessions dir. */
export interface ArtifactListing {
  files: (FileReport & { mtimeMs: number })[];
  /** Symbolic links not followed: leading out of the state dir, or to nothing. */
  skipped: SkippedPath[];
}

/**
 * Lists the files of a sessions dir with their class, size and age. A symbolic link that stays
 * inside the state dir is listed like a file (its target's size and mtime, `symlink` naming the
 * target); one leading out of it, or to nothing, is not followed and is listed in `skipped`.
 */
export function listArtifacts(
  stateDir: string,
  agent: AgentDir,
  referenced: ReadonlySet<string>,
  now: number,
): ArtifactListing {
  const cutoff = now - 30 * DAY_MS;
  const root = realStateDir(stateDir);
  const files: ArtifactListing["files"] = [];
  const skipped: SkippedPath[] = [];
  for (const d of readdirSync(agent.dir, { withFileTypes: true })) {
    if (!d.isFile() && !d.isSymbolicLink()) continue;
    const path = join(agent.dir, d.name);
    let symlink: string | undefined;
    if (d.isSymbolicLink()) {
      const label = relative(stateDir, path).split("\\").join("/");
      const where = checkInside(root, path, label);
      if (where.kind !== "inside") {
        skipped.push({ path: label, problem: where.problem });
        continue;
      }
      try {
        symlink = relative(root, realpathSync(path)).split("\\").join("/");
      } catch {
        continue;
      }
    }
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    // A link to a directory is a directory: not a file of this dir.
    if (!st.isFile()) continue;
    files.push({
      name: d.name,
      class: classifyFile(d.name, referenced),
      bytes: st.size,
      mtime: new Date(st.mtimeMs).toISOString(),
      mtimeMs: st.mtimeMs,
      olderThan30Days: st.mtimeMs < cutoff,
      ...(symlink === undefined ? {} : { symlink }),
    });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}

/** Audits every agent of `stateDir`. */
export async function auditStateDir(stateDir: string, options: AuditOptions = {}): Promise<AuditReport> {
  const now = (options.now ?? new Date()).getTime();
  const staleLockMs = options.staleLockMs ?? 30 * 60_000;
  const report: AuditReport = {
    stateDir,
    referenceDate: new Date(now).toISOString(),
    totals: {
      agents: 0,
      entries: 0,
      files: 0,
      bytes: 0,
      tornLines: 0,
      unansweredToolCalls: 0,
      orphanToolResults: 0,
      staleLocks: 0,
      entriesMissingTranscript: 0,
      entriesUnreadableTranscript: 0,
      warnings: noWarnings(),
    },
    agents: {},
    skipped: [],
  };
  const scan = scanStateDir(stateDir);
  const root = realStateDir(stateDir);
  report.skipped = [...scan.skipped];
  for (const agent of scan.agents) {
    const index = readSessionIndex(agent.dir, stateDir);
    const referenced = new Set(index.entries.map((e) => e.fileName));
    const entries: Record<string, EntryReport> = {};
    for (const entry of index.entries) entries[entry.key] = await auditEntry(stateDir, root, agent, entry);
    const { files, skipped } = listArtifacts(stateDir, agent, referenced, now);
    report.skipped.push(...skipped);
    const artifacts = Object.fromEntries(
      ARTIFACT_CLASSES.map((c) => [c, { count: 0, bytes: 0, olderThan30Days: 0 }]),
    ) as AgentAudit["audit"]["artifacts"];
    const staleLocks: AgentAudit["audit"]["staleLocks"] = [];
    const liveLocks: AgentAudit["audit"]["liveLocks"] = [];
    for (const f of files) {
      if (f.class !== "other") {
        const usage = artifacts[f.class];
        usage.count++;
        usage.bytes += f.bytes;
        if (f.olderThan30Days) usage.olderThan30Days++;
      }
      if (f.class === "lock") {
        const { stale, ...lock } = readLock(join(agent.dir, f.name), f.name, f.mtimeMs, now, staleLockMs);
        (stale ? staleLocks : liveLocks).push(lock);
      }
    }
    const missing = Object.entries(entries)
      .filter(([, e]) => e.transcript === null)
      .map(([k]) => k);
    const unreadable = Object.entries(entries)
      .filter(([, e]) => e.problem !== null)
      .map(([k]) => k);
    report.agents[agent.agentId] = {
      sessionsDir: relative(stateDir, agent.dir).split("\\").join("/") || ".",
      indexError: index.error,
      entries,
      audit: {
        artifacts,
        staleLocks,
        liveLocks,
        entriesMissingTranscript: missing,
        entriesUnreadableTranscript: unreadable,
      },
      files: files.map(({ mtimeMs: _m, ...f }) => f),
    };
    const t = report.totals;
    t.agents++;
    t.entries += index.entries.length;
    t.files += files.length;
    for (const f of files) t.bytes += f.bytes;
    for (const e of Object.values(entries)) {
      t.tornLines += e.tornLines;
      t.unansweredToolCalls += e.unansweredToolCalls.length;
      t.orphanToolResults += e.orphanToolResultsOnPath;
      for (const w of e.warnings) t.warnings[w.code]++;
    }
    t.staleLocks += staleLocks.length;
    t.entriesMissingTranscript += missing.length;
    t.entriesUnreadableTranscript += unreadable.length;
  }
  return report;
}
