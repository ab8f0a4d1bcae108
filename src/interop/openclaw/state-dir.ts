/**
 * The layout of an OpenClaw state directory: `agents/<agentId>/sessions/` holding a
 * `sessions.json` index (session key → entry) and the transcripts beside it. Also accepts a
 * single sessions directory. Index paths are resolved the way OpenClaw does after a move: an
 * absolute or relative `sessionFile` (even under another home or the legacy `~/.clawdbot`) by its
 * basename inside the sessions dir, no `sessionFile` as `<sessionId>.jsonl`. Symbolic links are
 * followed only while they stay inside the state dir (see containment.ts).
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError } from "../../store/errors.ts";
import { isPlainObject } from "../../store/validate.ts";
import { checkInside, realStateDir } from "./containment.ts";

export interface AgentDir {
  agentId: string;
  /** Absolute path of the sessions directory. */
  dir: string;
}

export interface IndexEntry {
  key: string;
  sessionId: string;
  /** Resolved transcript file name inside the sessions dir. */
  fileName: string;
  data: Record<string, unknown>;
}

export interface SessionIndex {
  entries: IndexEntry[];
  /** Why the index could not be read (missing, empty after a crash, not JSON); entries are then empty. */
  error: string | null;
}

/** Something in the state dir that was not followed, with why (a link leading out of it). */
export interface SkippedPath {
  /** Relative to the state dir. */
  path: string;
  problem: string;
}

export interface StateDirScan {
  agents: AgentDir[];
  /** Agent and sessions dirs not followed: symbolic links that lead out of the state dir. */
  skipped: SkippedPath[];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isSymbolicLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The agents' sessions dirs under `agents/`, following links only while they stay inside `root`. */
function scanAgents(agents: string, root: string, skipped: SkippedPath[]): AgentDir[] {
  const found: AgentDir[] = [];
  const dirents = readdirSync(agents, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const d of dirents) {
    if (!d.isDirectory() && !d.isSymbolicLink()) continue;
    const label = `agents/${d.name}`;
    // Only entries that are there reach this check, so a `missing` one is a link to nothing: its
    // sessions cannot be read, which the report must say (an agent dir left out in silence looks
    // like an agent with no sessions).
    const agent = checkInside(root, join(agents, d.name), label);
    if (agent.kind !== "inside") skipped.push({ path: label, problem: agent.problem });
    const dir = join(agents, d.name, "sessions");
    if (agent.kind !== "inside" || !isDirectory(join(agents, d.name))) continue;
    const sessions = checkInside(root, dir, `${label}/sessions`);
    // No sessions dir at all is an agent without sessions; a link to nothing is a problem.
    if (sessions.kind === "missing" && !isSymbolicLink(dir)) continue;
    if (sessions.kind !== "inside") skipped.push({ path: `${label}/sessions`, problem: sessions.problem });
    else if (isDirectory(dir)) found.push({ agentId: d.name, dir });
  }
  return found.sort((a, b) => a.agentId.localeCompare(b.agentId));
}

/**
 * The agents' sessions directories of a state dir (or the dir itself if it is one), and the agent
 * or sessions dirs left out because they are symbolic links leading out of the state dir.
 */
export function scanStateDir(stateDir: string): StateDirScan {
  if (!isDirectory(stateDir)) {
    throw new InvalidArgumentError(
      `'${stateDir}' is not a directory; pass an OpenClaw state dir (e.g. ~/.openclaw).`,
      {
        param: "stateDir",
      },
    );
  }
  const root = realStateDir(stateDir);
  const skipped: SkippedPath[] = [];
  const agents = join(stateDir, "agents");
  if (existsSync(agents)) {
    const check = checkInside(root, agents, "agents");
    if (check.kind === "outside")
      return { agents: [], skipped: [{ path: "agents", problem: check.problem }] };
    return { agents: scanAgents(agents, root, skipped), skipped };
  }
  if (existsSync(join(stateDir, "sessions.json"))) {
    return { agents: [{ agentId: basename(dirname(stateDir)) || "main", dir: stateDir }], skipped };
  }
  throw new InvalidArgumentError(
    `'${stateDir}' has no agents/<id>/sessions directories and no sessions.json.`,
    {
      param: "stateDir",
    },
  );
}

/** Lists the agents' sessions directories of a state dir (or the dir itself if it is one); see `scanStateDir`. */
export function findAgentDirs(stateDir: string): AgentDir[] {
  return scanStateDir(stateDir).agents;
}

/** Transcript file name for an index entry. */
export function resolveTranscriptName(data: Record<string, unknown>, sessionId: string): string {
  const file = data.sessionFile;
  if (typeof file === "string" && file.length > 0) return basename(file.replaceAll("\\", "/"));
  return `${sessionId}.jsonl`;
}

/**
 * Reads `sessions.json` of a sessions dir; never throws on a damaged index, it reports it. Given
 * the state dir, an index that is a symbolic link leading out of it is reported, not read.
 */
export function readSessionIndex(dir: string, stateDir?: string): SessionIndex {
  const path = join(dir, "sessions.json");
  if (stateDir !== undefined) {
    const check = checkInside(realStateDir(stateDir), path, "sessions.json");
    if (check.kind === "outside") return { entries: [], error: check.problem };
  }
  let value: unknown;
  try {
    const text = readFileSync(path, "utf8");
    if (text.trim().length === 0)
      return { entries: [], error: "sessions.json is empty (a crash during a write?)" };
    value = JSON.parse(text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      entries: [],
      error: code === "ENOENT" ? "sessions.json is missing" : "sessions.json is not valid JSON",
    };
  }
  if (!isPlainObject(value)) return { entries: [], error: "sessions.json is not a JSON object" };
  const entries: IndexEntry[] = [];
  for (const [key, data] of Object.entries(value)) {
    if (!isPlainObject(data) || typeof data.sessionId !== "string") continue;
    entries.push({
      key,
      sessionId: data.sessionId,
      fileName: resolveTranscriptName(data, data.sessionId),
      data,
    });
  }
  return { entries, error: null };
}

/** The kind of a session key (`main`, `group`, `thread`, `subagent`, `cronRun`, `cron`, `hook`, …). */
export function keyKind(key: string): string {
  const parts = key.split(":");
  if (parts[0] === "hook") return "hook";
  if (parts[0] === "cron") return parts[2] === "run" ? "cronRun" : "cron";
  if (parts[0] === "agent") {
    if (parts.length === 3 && parts[2] === "main") return "main";
    if (parts.includes("subagent")) return "subagent";
    if (parts.includes("thread")) return "thread";
    if (parts.includes("group")) return "group";
    if (parts.includes("channel")) return "channel";
    if (parts.includes("direct") || parts.includes("dm")) return "direct";
  }
  return "other";
}
