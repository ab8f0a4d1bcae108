/**
 * Classifies the files of a sessions directory into artifact classes and reads lock files.
 * Names follow OpenClaw's writers: `<id>.jsonl.reset.<ISO>`, `<id>.jsonl.deleted.<ISO>`,
 * `sessions.json.bak.<ms>`, `sessions.json.<pid>.<uuid>.tmp`, `<id>.jsonl.bak-<pid>-<ms>`,
 * `<id>.jsonl.lock`.
 */
import { readFileSync } from "node:fs";

export const ARTIFACT_CLASSES = [
  "index",
  "liveTranscript",
  "orphanTranscript",
  "resetArchive",
  "deletedArchive",
  "storeBackup",
  "tmp",
  "bak",
  "lock",
] as const;
export type ArtifactClass = (typeof ARTIFACT_CLASSES)[number] | "other";

/** Class of a file name; `referenced` holds the transcript names index entries point to. */
export function classifyFile(name: string, referenced: ReadonlySet<string>): ArtifactClass {
  if (name === "sessions.json") return "index";
  if (/^sessions\.json\.bak(\.|$)/.test(name)) return "storeBackup";
  if (name.endsWith(".tmp")) return "tmp";
  if (name.endsWith(".jsonl.lock")) return "lock";
  if (/\.jsonl\.reset\./.test(name)) return "resetArchive";
  if (/\.jsonl\.deleted\./.test(name)) return "deletedArchive";
  if (/\.jsonl\.bak([-.]|$)/.test(name)) return "bak";
  if (name.endsWith(".jsonl")) return referenced.has(name) ? "liveTranscript" : "orphanTranscript";
  return "other";
}

export interface LockInfo {
  file: string;
  pid: number | null;
  /** ISO time from the lock's JSON, else the file's mtime. */
  createdAt: string;
  ageMs: number;
  stale: boolean;
}

/** Reads a lock file; stale when it was created more than `staleAfterMs` before `now`. */
export function readLock(
  path: string,
  file: string,
  mtimeMs: number,
  now: number,
  staleAfterMs: number,
): LockInfo {
  let pid: number | null = null;
  let created = mtimeMs;
  try {
    const data = JSON.parse(readFileSync(path, "utf8")) as { pid?: unknown; createdAt?: unknown };
    if (typeof data.pid === "number") pid = data.pid;
    const t =
      typeof data.createdAt === "string" || typeof data.createdAt === "number"
        ? Date.parse(String(data.createdAt))
        : Number.NaN;
    if (Number.isFinite(t)) created = t;
    else if (typeof data.createdAt === "number") created = data.createdAt;
  } catch {
    // An unreadable lock is judged by its mtime.
  }
  const ageMs = now - created;
  return { file, pid, createdAt: new Date(created).toISOString(), ageMs, stale: ageMs > staleAfterMs };
}
