/**
 * CPU time the hypervisor gave to other guests while this VM wanted it ("steal", the 8th field
 * of /proc/stat's `cpu` line), as a share of all CPU time in an interval. On a shared VM a few
 * percent of steal can slow every process of a benchmark by a third, and the load average does
 * not show it. Null where /proc/stat is missing (not Linux).
 */
import { readFileSync } from "node:fs";

export interface CpuTimes {
  steal: number;
  total: number;
}

/** Steal and total ticks from /proc/stat's text (its first line, all CPUs); null if malformed. */
export function parseCpuTimes(procStat: string): CpuTimes | null {
  const line = procStat.split("\n", 1)[0] ?? "";
  const [label, ...rest] = line.trim().split(/\s+/);
  const fields = rest.map(Number);
  if (label !== "cpu" || fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { steal: fields[7] as number, total };
}

function readCpuTimes(): CpuTimes | null {
  try {
    return parseCpuTimes(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

/** Starts measuring; the returned function gives the steal share (0–1) since, or null. */
export function stealMeter(): () => number | null {
  const start = readCpuTimes();
  return () => {
    const end = readCpuTimes();
    if (!start || !end || end.total <= start.total) return null;
    return (end.steal - start.steal) / (end.total - start.total);
  };
}
