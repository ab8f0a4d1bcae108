/** The figures of one `bench/sweep.ts` run and their table (with medians over `--runs`). */
import { median } from "./stats.ts";
import { fmt, formatTable } from "./table.ts";

export interface Figures {
  store: string;
  seedSeconds: number;
  items: number;
  planMs: number;
  sweepMs: number;
  sweptSessions: number;
  baseline: { p50Ms: number; p99Ms: number; n: number };
  during: { p50Ms: number; p99Ms: number; n: number };
  p99Ratio: number;
  /** The `--after` seconds following the sweep, with the slowest append. */
  after: { p50Ms: number; p99Ms: number; n: number; maxMs: number };
  archiveBackend: string;
  archivePerSec: number;
  restorePerSec: number;
  /** CPU ms of the bench process per archived / restored session. */
  archiveCpuMs: number;
  restoreCpuMs: number;
}

const HEADER = [
  "store",
  "expired items",
  "sweep s",
  "plan ms",
  "live p50 ms base→sweep",
  "live p99 ms base→sweep",
  "p99 ×",
  "after: p99 / max ms",
  "archive backend",
  "archive/s",
  "restore/s",
  "CPU ms/session archive, restore",
];

/** One table row; `pick` reads a figure (of one run, or the median over several). */
function row(label: string, first: Figures, pick: (f: (r: Figures) => number) => number): string[] {
  return [
    label,
    String(first.items),
    fmt(pick((r) => r.sweepMs) / 1000, 2),
    fmt(
      pick((r) => r.planMs),
      0,
    ),
    `${fmt(
      pick((r) => r.baseline.p50Ms),
      2,
    )} → ${fmt(
      pick((r) => r.during.p50Ms),
      2,
    )}`,
    `${fmt(
      pick((r) => r.baseline.p99Ms),
      2,
    )} → ${fmt(
      pick((r) => r.during.p99Ms),
      2,
    )}`,
    fmt(
      pick((r) => r.p99Ratio),
      2,
    ),
    `${fmt(
      pick((r) => r.after.p99Ms),
      2,
    )} / ${fmt(
      pick((r) => r.after.maxMs),
      0,
    )}`,
    first.archiveBackend,
    fmt(
      pick((r) => r.archivePerSec),
      0,
    ),
    fmt(
      pick((r) => r.restorePerSec),
      0,
    ),
    `${fmt(
      pick((r) => r.archiveCpuMs),
      2,
    )}, ${fmt(
      pick((r) => r.restoreCpuMs),
      2,
    )}`,
  ];
}

/**
 * The results as a table: one row per run, plus a row of medians for every store that ran more
 * than once (the median of the runs' p99 ratios, not a ratio of medians).
 */
export function sweepTable(results: readonly Figures[]): string {
  const rows = results.map((r) => row(r.store, r, (f) => f(r)));
  for (const store of new Set(results.map((r) => r.store))) {
    const runs = results.filter((r) => r.store === store);
    if (runs.length < 2) continue;
    rows.push(row(`${store}, median of ${runs.length}`, runs[0]!, (f) => median(runs.map(f))));
  }
  const seeding = results.map((r) => `${r.store} ${fmt(r.seedSeconds, 0)} s`).join(", ");
  return `${formatTable(HEADER, rows)}\n(seeding took ${seeding}; targets: sweep ≤ 5 s, p99 × ≤ 2)\n`;
}
