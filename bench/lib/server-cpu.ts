/**
 * CPU time of the local database server, for CPU-per-operation figures that a shared machine
 * disturbs far less than wall-clock rates: every process named `redis-server` or `postgres`
 * (the postmaster, its backends, WAL writer and checkpointer), from `/proc/<pid>/stat`. Linux
 * only; null elsewhere or when no such process is visible (a remote server).
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The server process name for a store URL, or null when the bench cannot see its CPU. */
export function serverProcessName(url: string): string | null {
  if (url.startsWith("redis")) return "redis-server";
  if (url.startsWith("postgres")) return "postgres";
  return null;
}

/** Total user + system CPU of every process called `name`, in µs; null when none is visible. */
export function processCpuUs(name: string): number | null {
  let total = 0;
  let found = false;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      if (comm !== name) continue;
      const fields = stat.slice(close + 2).split(" ");
      // fields[11], fields[12]: utime, stime (fields 14 and 15 of stat, counted after comm).
      total += Number(fields[11]) + Number(fields[12]);
      found = true;
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return found ? (total * 1e6) / TICKS_PER_SECOND : null;
}
