/**
 * `importStateDir`: every OpenClaw session of a state dir into a SessionStore — the active
 * branch as a session with a deterministic id, every other branch as a fork (also with a
 * deterministic id) taken at its branch point. Idempotent: a re-import finds the same ids and
 * writes nothing; a transcript that only grew gets the new items
 * appended; a session whose label or model changed (no new items) gets its metadata and state
 * updated; one whose active branch changed under an earlier import is reported `diverged`.
 */
import { join, relative } from "node:path";
import { isHoldfastError } from "../../store/errors.ts";
import type { ItemInput, Session, SessionStore } from "../../store/types.ts";
import { LIMITS } from "../../store/validate.ts";
import { sessionItems } from "../portable/export.ts";
import { checkInside, realStateDir } from "./containment.ts";
import { convertPath } from "./convert.ts";
import {
  branchLabel,
  importedForkId,
  importedSessionId,
  sessionLabels,
  sessionMetadata,
  sessionState,
} from "./session-meta.ts";
import { syncDescription } from "./session-sync.ts";
import {
  type AgentDir,
  type IndexEntry,
  readSessionIndex,
  type SkippedPath,
  scanStateDir,
} from "./state-dir.ts";
import { type ParsedTranscript, readTranscriptFile, type TranscriptEntry } from "./transcript.ts";
import { activePath, analyzeTranscript } from "./tree.ts";
import {
  duplicateWarnings,
  type ImportWarning,
  type ImportWarningCode,
  mergeWarnings,
  notImportedWarnings,
  noWarnings,
} from "./warnings.ts";

/**
 * `updated`: the same items, but the index entry or transcript now describes the session
 * differently (its label, model, …), and the stored metadata and state were brought up to date.
 */
export type ImportStatus =
  | "created"
  | "appended"
  | "updated"
  | "unchanged"
  | "diverged"
  | "missing"
  | "failed";

export interface ForkImportResult {
  sessionId: string | null;
  leafId: string;
  atSeq: number;
  items: number;
  status: ImportStatus | "empty";
}

export interface SessionImportResult {
  agentId: string;
  key: string;
  openclawSessionId: string;
  sessionId: string;
  status: ImportStatus;
  /** Items of the active branch now in the store; `written` of them by this run. */
  items: number;
  written: number;
  tornLines: number[];
  /** Items shrunk to fit the store's item size limit (large tool outputs, images). */
  truncatedItems: number;
  forks: ForkImportResult[];
  /** What the import changed or left out of the transcript, entry by entry (see warnings.ts). */
  warnings: ImportWarning[];
  note?: string;
}

export interface OpenClawImportOptions {
  /** Tenant to import into. Default `default`. */
  tenant?: string;
  /** Called after each session. */
  onSession?: (result: SessionImportResult) => void;
  /** Largest item the target store accepts (its `maxItemBytes`); bigger ones are shrunk. Default 1 MiB. */
  maxItemBytes?: number;
}

export interface OpenClawImportReport {
  tenant: string;
  sessions: SessionImportResult[];
  /**
   * What kept sessions from being read that is no single index entry: an agent's sessions dir or
   * index that is a symbolic link leading out of the state dir (not followed), an index that is
   * missing, empty or not JSON. Paths are relative to the state dir.
   */
  problems: SkippedPath[];
  totals: Record<ImportStatus, number> & {
    forks: number;
    itemsWritten: number;
    tornLines: number;
    truncatedItems: number;
    problems: number;
    /** Warnings of all sessions, by code. */
    warnings: Record<ImportWarningCode, number>;
  };
}

async function findSession(store: SessionStore, tenant: string, id: string): Promise<Session | null> {
  try {
    return await store.get(tenant, id);
  } catch (error) {
    if (isHoldfastError(error) && error.code === "not_found") return null;
    throw error;
  }
}

async function storedIds(
  store: SessionStore,
  tenant: string,
  id: string,
  afterSeq: number,
): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of sessionItems(store, tenant, id)) if (item.seq > afterSeq) ids.push(item.id);
  return ids;
}

/** Appends `items` from index `from` in store-sized chunks with deterministic operation ids. */
async function appendFrom(
  store: SessionStore,
  tenant: string,
  id: string,
  items: ItemInput[],
  from: number,
  opPrefix: string,
): Promise<void> {
  for (let start = from; start < items.length; start += LIMITS.itemsPerAppend) {
    await store.append(tenant, id, items.slice(start, start + LIMITS.itemsPerAppend), {
      operationId: `${opPrefix}:${start}`,
    });
  }
}

/** Brings session `id` (items after `base`) to `items`: unchanged, appended, or diverged. */
async function reconcile(
  store: SessionStore,
  tenant: string,
  id: string,
  base: number,
  items: ItemInput[],
  op: string,
): Promise<{ status: ImportStatus; written: number }> {
  const have = await storedIds(store, tenant, id, base);
  const isPrefix = have.length <= items.length && have.every((x, i) => x === items[i]!.id);
  if (!isPrefix) return { status: "diverged", written: 0 };
  if (have.length === items.length) return { status: "unchanged", written: 0 };
  await appendFrom(store, tenant, id, items, have.length, op);
  return { status: "appended", written: items.length - have.length };
}

/** The branch chain of `leaf` below its deepest ancestor on the active path. */
function branchChain(
  leaf: TranscriptEntry,
  byId: Map<string, TranscriptEntry>,
  onPath: Set<string>,
): { chain: TranscriptEntry[]; point: TranscriptEntry | null } {
  const chain: TranscriptEntry[] = [];
  const seen = new Set<string>();
  let e: TranscriptEntry | undefined = leaf;
  while (e && !onPath.has(e.id) && !seen.has(e.id)) {
    seen.add(e.id);
    chain.push(e);
    e = e.parentId ? byId.get(e.parentId) : undefined;
  }
  return { chain: chain.reverse(), point: e && onPath.has(e.id) ? e : null };
}

/** What every step of one import run shares. */
interface ImportContext {
  store: SessionStore;
  tenant: string;
  stateDir: string;
  /** The state dir with its links resolved: transcripts must lie inside it. */
  root: string;
  maxItemBytes: number;
}

async function importForks(
  ctx: ImportContext,
  parent: Session,
  agentId: string,
  entry: IndexEntry,
  parsed: ParsedTranscript,
  path: TranscriptEntry[],
  seqAfter: Map<string, number>,
  warnings: ImportWarning[],
): Promise<ForkImportResult[]> {
  const { store, tenant } = ctx;
  const results: ForkImportResult[] = [];
  const byId = new Map(parsed.entries.map((e) => [e.id, e]));
  const onPath = new Set(path.map((e) => e.id));
  for (const leaf of analyzeTranscript(parsed).otherLeaves) {
    const { chain, point } = branchChain(leaf, byId, onPath);
    const atSeq = point ? (seqAfter.get(point.id) ?? 0) : 0;
    const prefix = point ? path.slice(0, path.indexOf(point) + 1) : [];
    // Converting the whole chain keeps seqs (and compaction ranges) those of the fork.
    const converted = convertPath([...prefix, ...chain], { maxItemBytes: ctx.maxItemBytes });
    warnings.push(...converted.warnings);
    const items = converted.items.slice(atSeq);
    const id = importedForkId(agentId, entry.sessionId, leaf.id);
    const result: ForkImportResult = {
      sessionId: null,
      leafId: leaf.id,
      atSeq,
      items: items.length,
      status: "empty",
    };
    results.push(result);
    if (items.length === 0) continue;
    result.sessionId = id;
    const op = `openclaw:${id}`;
    if (await findSession(store, tenant, id)) {
      // A fork interrupted before its append is completed here: its items after atSeq are a prefix.
      result.status = (await reconcile(store, tenant, id, atSeq, items, op)).status;
      continue;
    }
    await store.fork(tenant, parent.id, {
      id,
      atSeq,
      labels: [...parent.labels, branchLabel(agentId, entry.sessionId)].slice(0, LIMITS.labels),
      metadata: { ...parent.metadata, openclaw_branch_leaf: leaf.id.slice(0, LIMITS.metadataValueChars) },
    });
    await appendFrom(store, tenant, id, items, 0, op);
    result.status = "created";
  }
  return results;
}

async function importEntry(
  ctx: ImportContext,
  agent: AgentDir,
  entry: IndexEntry,
): Promise<SessionImportResult> {
  const { store, tenant } = ctx;
  const id = importedSessionId(agent.agentId, entry.sessionId);
  const base = { agentId: agent.agentId, key: entry.key, openclawSessionId: entry.sessionId, sessionId: id };
  const file = join(agent.dir, entry.fileName);
  const empty = { items: 0, written: 0, tornLines: [], truncatedItems: 0, forks: [], warnings: [] };
  // A transcript that is a symbolic link out of the state dir is not read: reported, not imported.
  const where = checkInside(ctx.root, file, `transcript ${entry.fileName}`);
  if (where.kind === "missing") return { ...base, ...empty, status: "missing", note: where.problem };
  if (where.kind === "outside") return { ...base, ...empty, status: "failed", note: where.problem };
  const read = await readTranscriptFile(file, entry.fileName);
  // A directory where the file should be, no read permission, bytes that are not UTF-8: this
  // session fails, the others are still imported.
  if ("problem" in read) return { ...base, ...empty, status: "failed", note: read.problem };
  const { parsed } = read;
  const path = activePath(parsed.entries);
  const { items, seqAfter, truncated, warnings } = convertPath(path, { maxItemBytes: ctx.maxItemBytes });
  const state = (): ReturnType<typeof sessionState> =>
    sessionState(agent.agentId, entry, parsed, path, relative(ctx.stateDir, file));
  const op = `openclaw:${id}`;
  let session = await findSession(store, tenant, id);
  let status: ImportStatus;
  let written: number;
  if (!session) {
    session = await store.create(tenant, {
      id,
      metadata: sessionMetadata(agent.agentId, entry, parsed),
      labels: sessionLabels(agent.agentId, entry.key),
      state: state(),
      items: items.slice(0, LIMITS.itemsPerAppend),
    });
    await appendFrom(store, tenant, id, items, LIMITS.itemsPerAppend, op);
    status = "created";
    written = items.length;
  } else {
    ({ status, written } = await reconcile(store, tenant, id, 0, items, op));
    if (status === "appended" || status === "unchanged") {
      const metadata = sessionMetadata(agent.agentId, entry, parsed);
      const described = await syncDescription(store, session, metadata, state());
      if (described) {
        if (status === "unchanged") status = "updated";
        // New forks copy the parent's metadata: the updated one.
        session = await store.get(tenant, id);
      }
    }
  }
  const forks =
    status === "diverged"
      ? []
      : await importForks(ctx, session, agent.agentId, entry, parsed, path, seqAfter, warnings);
  const result: SessionImportResult = {
    ...base,
    status,
    items: items.length,
    written,
    tornLines: parsed.tornLines,
    truncatedItems: truncated,
    forks,
    warnings: mergeWarnings([...duplicateWarnings(parsed), ...notImportedWarnings(parsed), ...warnings]),
  };
  if (status === "diverged")
    result.note = "the stored session is not a prefix of the transcript's active branch; left as is";
  return result;
}

/**
 * Imports every index entry of every agent of `stateDir`. A session whose transcript cannot be
 * read (a directory, no permission, not UTF-8, a symbolic link leading out of the state dir) or
 * that the store rejects (a caller fault such as an invalid value) is reported `failed` with the
 * reason, one whose transcript is not there `missing`, and the run goes on; an agent whose index
 * or sessions dir could not be read is one of the report's `problems`. A store outage stops it.
 */
export async function importStateDir(
  store: SessionStore,
  stateDir: string,
  options: OpenClawImportOptions = {},
): Promise<OpenClawImportReport> {
  const scan = scanStateDir(stateDir);
  const ctx: ImportContext = {
    store,
    tenant: options.tenant ?? "default",
    stateDir,
    root: realStateDir(stateDir),
    maxItemBytes: options.maxItemBytes ?? 1 << 20,
  };
  const report: OpenClawImportReport = {
    tenant: ctx.tenant,
    sessions: [],
    problems: [...scan.skipped],
    totals: {
      created: 0,
      appended: 0,
      updated: 0,
      unchanged: 0,
      diverged: 0,
      missing: 0,
      failed: 0,
      forks: 0,
      itemsWritten: 0,
      tornLines: 0,
      truncatedItems: 0,
      problems: 0,
      warnings: noWarnings(),
    },
  };
  for (const agent of scan.agents) {
    const index = readSessionIndex(agent.dir, stateDir);
    if (index.error !== null) {
      const path = relative(stateDir, join(agent.dir, "sessions.json")).split("\\").join("/");
      report.problems.push({
        path,
        problem: `${index.error}; no session of agent ${agent.agentId} was imported`,
      });
    }
    for (const entry of index.entries) {
      let result: SessionImportResult;
      try {
        result = await importEntry(ctx, agent, entry);
      } catch (error) {
        if (!isHoldfastError(error) || error.fault !== "caller") throw error;
        result = {
          agentId: agent.agentId,
          key: entry.key,
          openclawSessionId: entry.sessionId,
          sessionId: importedSessionId(agent.agentId, entry.sessionId),
          status: "failed",
          items: 0,
          written: 0,
          tornLines: [],
          truncatedItems: 0,
          forks: [],
          warnings: [],
          note: `${error.code}: ${error.message}`,
        };
      }
      const t = report.totals;
      report.sessions.push(result);
      t[result.status]++;
      t.itemsWritten +=
        result.written + result.forks.reduce((n, f) => n + (f.status === "created" ? f.items : 0), 0);
      t.forks += result.forks.filter((f) => f.sessionId !== null).length;
      t.tornLines += result.tornLines.length;
      t.truncatedItems += result.truncatedItems;
      for (const w of result.warnings) t.warnings[w.code]++;
      options.onSession?.(result);
    }
  }
  report.totals.problems = report.problems.length;
  return report;
}
