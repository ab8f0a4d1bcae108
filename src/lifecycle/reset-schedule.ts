/**
 * Daily reset boundaries: "every day at hour H in time zone Z", computed with Intl so daylight
 * saving changes move the instant, not the wall-clock hour.
 */

/** A daily reset at `hour` (0..23) local time in `timeZone` (IANA). */
export interface ResetSchedule {
  hour: number;
  timeZone: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock fields of `instant` in `timeZone`, as if they were UTC (epoch ms). */
function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/**
 * The first instant at which the wall clock of `timeZone` reads `wall` (fields given as UTC epoch
 * ms) or later. A wall time that occurs twice (the hour repeated when clocks go back) is its first
 * occurrence, so a daily reset happens once that day, not an hour late; one that does not occur
 * (the hour skipped when clocks go forward) is the instant the clocks jump (02:00 → 03:00).
 */
function instantOf(wall: number, timeZone: string): number {
  // The UTC offsets in force around `wall`: sampled a whole day either side, because offsets
  // reach ±14 h and half a day would land on the wrong side of a change in zones beyond ±12 h
  // (Pacific/Auckland's 02:00 on its change days is 13:00-14:00 UTC the day before).
  const offsetAt = (t: number): number => wallClock(t, timeZone) - t;
  const before = offsetAt(wall - 864e5);
  const after = offsetAt(wall + 864e5);
  const matches = [wall - before, wall - after].filter((t) => wallClock(t, timeZone) === wall);
  if (matches.length > 0) return Math.min(...matches);
  // Skipped: the clocks jumped over `wall` between wall - after (still before the change) and
  // wall - before (already after it). Find the jump, to the millisecond.
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallClock(mid, timeZone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The most recent reset instant at or before `now`. */
export function lastResetAt(schedule: ResetSchedule, now: number): number {
  const wall = wallClock(now, schedule.timeZone);
  const day = Math.floor(wall / 864e5) * 864e5;
  let candidate = instantOf(day + schedule.hour * 36e5, schedule.timeZone);
  if (candidate > now) candidate = instantOf(day - 864e5 + schedule.hour * 36e5, schedule.timeZone);
  return candidate;
}
