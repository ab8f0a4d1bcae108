/**
 * The tree of a parsed transcript: the active leaf (last parsable entry), its path from the root,
 * and what the model would see on that path — context messages after the last compaction, tool
 * calls and results and the pairing between them.
 */
import type { ParsedTranscript, TranscriptEntry } from "./transcript.ts";

export interface TranscriptAnalysis {
  /** Root → active leaf. */
  path: TranscriptEntry[];
  hasBranches: boolean;
  /** Leaves (entries without children) that are not the active leaf. */
  otherLeaves: TranscriptEntry[];
  contextMessageCount: number;
  toolCallsOnPath: number;
  toolResultsOnPath: number;
  /** Results on the path whose toolCallId matches no toolCall block on the path. */
  orphanToolResultIds: string[];
  /** Tool call ids on the path that no toolResult on the path answers. */
  unansweredToolCallIds: string[];
  compactionsOnPath: number;
}

type Block = Record<string, unknown>;

/** The `message` object of a message entry, or null. */
export function messageOf(entry: TranscriptEntry): Record<string, unknown> | null {
  const m = entry.data.message;
  return entry.type === "message" && typeof m === "object" && m !== null && !Array.isArray(m)
    ? (m as Record<string, unknown>)
    : null;
}

/** Content blocks of a message (a string content becomes one text block). */
export function blocksOf(message: Record<string, unknown>): Block[] {
  const c = message.content;
  if (typeof c === "string") return [{ type: "text", text: c }];
  return Array.isArray(c) ? c.filter((b): b is Block => typeof b === "object" && b !== null) : [];
}

/** Whether an entry becomes a message in the model's context. */
export function isContextEntry(entry: TranscriptEntry): boolean {
  if (entry.type === "message" || entry.type === "custom_message") return true;
  if (entry.type === "branch_summary") {
    return typeof entry.data.summary === "string" && entry.data.summary.length > 0;
  }
  return false;
}

/** Index in `path` of a compaction's first kept entry (v3 `firstKeptEntryId`, v1 `firstKeptEntryIndex`). */
export function firstKeptIndex(path: TranscriptEntry[], compaction: TranscriptEntry): number {
  const id = compaction.data.firstKeptEntryId;
  const index = compaction.data.firstKeptEntryIndex;
  // pi's v1 index counts parsed lines, not file lines: blank and torn lines do not shift it.
  // The id as written: an entry that reused an id is `<id>~<n>` here (see transcript.ts).
  const found =
    typeof id === "string"
      ? path.findIndex((e) => (typeof e.data.id === "string" ? e.data.id : e.id) === id)
      : typeof index === "number"
        ? path.findIndex((e) => e.index === index)
        : -1;
  // A kept entry missing from the path keeps nothing before the compaction (pi does the same).
  return found === -1 ? path.indexOf(compaction) : found;
}

/** The active path: the last entry's ancestor chain, root first. Cycles and dangling parents stop it. */
export function activePath(entries: TranscriptEntry[]): TranscriptEntry[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const path: TranscriptEntry[] = [];
  const seen = new Set<string>();
  for (let e = entries.at(-1); e && !seen.has(e.id); e = e.parentId ? byId.get(e.parentId) : undefined) {
    seen.add(e.id);
    path.push(e);
  }
  return path.reverse();
}

export function analyzeTranscript(transcript: ParsedTranscript): TranscriptAnalysis {
  const { entries } = transcript;
  const children = new Map<string, number>();
  for (const e of entries)
    if (e.parentId !== null) children.set(e.parentId, (children.get(e.parentId) ?? 0) + 1);
  const path = activePath(entries);
  const leaf = path.at(-1);
  const otherLeaves = entries.filter((e) => !children.has(e.id) && e !== leaf);

  const compactions = path.filter((e) => e.type === "compaction");
  const last = compactions.at(-1);
  let contextMessageCount = 0;
  if (last) {
    const at = path.indexOf(last);
    const from = firstKeptIndex(path, last);
    contextMessageCount = 1;
    path.forEach((e, i) => {
      if (((i >= from && i < at) || i > at) && isContextEntry(e)) contextMessageCount++;
    });
  } else {
    contextMessageCount = path.filter(isContextEntry).length;
  }

  const calls: string[] = [];
  const results: string[] = [];
  for (const e of path) {
    const m = messageOf(e);
    if (!m) continue;
    if (m.role === "assistant") {
      for (const b of blocksOf(m)) if (b.type === "toolCall") calls.push(String(b.id));
    } else if (m.role === "toolResult") {
      results.push(String(m.toolCallId));
    }
  }
  const callSet = new Set(calls);
  const resultSet = new Set(results);
  return {
    path,
    hasBranches: [...children.values()].some((n) => n >= 2),
    otherLeaves,
    contextMessageCount,
    toolCallsOnPath: calls.length,
    toolResultsOnPath: results.length,
    orphanToolResultIds: results.filter((id) => !callSet.has(id)),
    unansweredToolCallIds: calls.filter((id) => !resultSet.has(id)),
    compactionsOnPath: compactions.length,
  };
}
