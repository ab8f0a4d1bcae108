/**
 * The served process's garbage collection during one phase, from its `--trace-gc-nvp` lines
 * (one `key=value` line per GC on stdout). Young-generation pauses (scavenges) and what they
 * promote to the old generation are what stall a turn at a fixed rate: anything a turn keeps for
 * seconds (per-session caches, records replaced on the next turn) is copied and promoted, and
 * what is promoted and then replaced is only freed by a mark-compact.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { percentile } from "../lib/stats.ts";

export interface GcFigures {
  scavenges: number;
  scavengePauseP50Ms: number;
  scavengePauseMaxMs: number;
  scavengePauseTotalMs: number;
  /** Bytes moved to the old generation by scavenges, per completed request (KB). */
  promotedKbPerReq: number;
  /** Bytes copied within the young generation by scavenges, per completed request (KB). */
  survivedKbPerReq: number;
  markCompacts: number;
  markCompactPausesMs: number[];
}

function fields(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of line.trim().split(/\s+/)) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** Sums the `--trace-gc-nvp` lines in `text` (other output is ignored) over `requests` requests. */
export function summarizeGcTrace(text: string, requests: number): GcFigures {
  const pauses: number[] = [];
  const markCompactPausesMs: number[] = [];
  let promoted = 0;
  let survived = 0;
  for (const line of text.split("\n")) {
    if (!line.includes(" gc=")) continue;
    const f = fields(line);
    const pause = Number(f.get("pause") ?? 0);
    if (f.get("gc") === "s") {
      pauses.push(pause);
      promoted += Number(f.get("promoted") ?? 0);
      survived += Number(f.get("new_space_survived") ?? f.get("semi_space_copied") ?? 0);
    } else if (f.get("gc") === "mc") markCompactPausesMs.push(pause);
  }
  const per = Math.max(1, requests) * 1024;
  return {
    scavenges: pauses.length,
    scavengePauseP50Ms: pauses.length ? percentile(pauses, 50) : 0,
    scavengePauseMaxMs: pauses.length ? Math.max(...pauses) : 0,
    scavengePauseTotalMs: pauses.reduce((sum, p) => sum + p, 0),
    promotedKbPerReq: promoted / per,
    survivedKbPerReq: survived / per,
    markCompacts: markCompactPausesMs.length,
    markCompactPausesMs,
  };
}

/** The size of `file` now: where the next phase's lines start. */
export function fileMark(file: string): number {
  return statSync(file).size;
}

/** What was appended to `file` since `mark`. */
export function readSince(file: string, mark: number): string {
  const length = fileMark(file) - mark;
  if (length <= 0) return "";
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, length, mark);
  } finally {
    closeSync(fd);
  }
  return buffer.toString("utf8");
}
