/**
 * The layout of an OpenClaw state directory: `agents/<agentId>/sessions/` holding a
 * `sessions.json` index (session key → entry) and the transcripts beside it. Also accepts a
 * single sessions directory. Index paths are resolved the way OpenClaw does after a move: an
 * absolute or relative `sessionFile` (even under another home or the legacy `~/.clawdbot`) by its
 * basename inside the sessions dir, no `sessionFile` as `<sessionId>.jsonl`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError } from "../../store/errors.ts";
import { isPlainObject } from "../../store/validate.ts";

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

/** Lists the agents' sessions directories of a state dir (or the dir itself if it is one). */
export function findAgentDirs(stateDir: string): AgentDir[] {
  if (!existsSync(stateDir) || !statSync(stateDir).isDirectory()) {
    throw new InvalidArgumentError(
      `'${stateDir}' is not a directory; pass an OpenClaw state dir (e.g. ~/.openclaw).`,
      {
        param: "stateDir",
      },
    );
  }
  const agents = join(stateDir, "agents");
  if (existsSync(agents)) {
    return readdirSync(agents, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(agents, d.name, "sessions")))
      .map((d) => ({ agentId: d.name, dir: join(agents, d.name, "sessions") }))
      .sort((a, b) => a.agentId.localeCompare(b.agentId));
  }
  if (existsSync(join(stateDir, "sessions.json"))) {
    return [{ agentId: basename(dirname(stateDir)) || "main", dir: stateDir }];
  }
  throw new InvalidArgumentError(
    `'${stateDir}' has no agents/<id>/sessions directories and no sessions.json.`,
    {
      param: "stateDir",
    },
  );
}

/** Transcript file name for an index entry. */
export function resolveTranscriptName(data: Record<string, unknown>, sessionId: string): string {
  const file = data.sessionFile;
  if (typeof file === "string" && file.length > 0) return basename(file.replaceAll("\\", "/"));
  return `${sessionId}.jsonl`;
}

/** Reads `sessions.json` of a sessions dir; never throws on a damaged index, it reports it. */
export function readSessionIndex(dir: string): SessionIndex {
  const path = join(dir, "sessions.json");
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
