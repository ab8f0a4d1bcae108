/**
 * The sweeper's action log: one JSON line per action taken (or skipped) — what, why, how much
 * it freed. `createFileActionLog(path)` appends to a JSONL file (one write per batch);
 * `createMemoryActionLog()` keeps entries in memory (tests, the admin route's recent history).
 */
import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { CleanupAction, CleanupReason } from "./plan-types.ts";

export const ACTION_OUTCOMES = ["done", "skipped", "error"] as const;
export type ActionOutcome = (typeof ACTION_OUTCOMES)[number];

export interface ActionLogEntry {
  /** ISO time the action finished. */
  at: string;
  action: CleanupAction;
  reason: CleanupReason;
  tenant: string;
  sessionId: string;
  owner: string | null;
  /** `done`, `skipped` (the session changed or vanished since it was planned) or `error`. */
  outcome: ActionOutcome;
  items: number;
  bytesFreed: number;
  /** For `reset`: the fresh session's id. */
  newSessionId?: string;
  /** For `error`: what failed. */
  error?: string;
  /** Which sweeper (lease holder) acted. */
  holder: string;
}

export interface ActionLog {
  record(entries: readonly ActionLogEntry[]): Promise<void>;
}

/** Appends entries as JSONL to `path` (parent directories created). */
export function createFileActionLog(path: string): ActionLog {
  let ready: Promise<unknown> | null = null;
  return {
    async record(entries) {
      if (entries.length === 0) return;
      ready ??= mkdir(dirname(path), { recursive: true });
      await ready;
      await appendFile(path, entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
    },
  };
}

/** Keeps the last `max` entries in memory (default 10,000). */
export function createMemoryActionLog(max = 10_000): ActionLog & { entries: ActionLogEntry[] } {
  const entries: ActionLogEntry[] = [];
  return {
    entries,
    async record(batch) {
      entries.push(...batch);
      if (entries.length > max) entries.splice(0, entries.length - max);
    },
  };
}
