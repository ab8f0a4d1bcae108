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
 * The instant at which the wall clock of `timeZone` shows `wall` (fields given as UTC epoch ms).
 * A wall time that occurs twice (the hour repeated when clocks go back) is its first occurrence,
 * so a daily reset happens once that day, not an hour late; one that does not occur (the hour
 * skipped when clocks go forward) is shifted forward by the gap, as clocks are (02:30 → 03:30).
 */
function instantOf(wall: number, timeZone: string): number {
  // The UTC offsets in force around `wall` (at most two: before and after a change that day).
  const before = wallClock(wall - 864e5 / 2, timeZone) - (wall - 864e5 / 2);
  const after = wallClock(wall + 864e5 / 2, timeZone) - (wall + 864e5 / 2);
  const matches = [wall - before, wall - after].filter((t) => wallClock(t, timeZone) === wall);
  return matches.length > 0 ? Math.min(...matches) : wall - before;
}

/** The most recent reset instant at or before `now`. */
export function lastResetAt(schedule: ResetSchedule, now: number): number {
  const wall = wallClock(now, schedule.timeZone);
  const day = Math.floor(wall / 864e5) * 864e5;
  let candidate = instantOf(day + schedule.hour * 36e5, schedule.timeZone);
  if (candidate > now) candidate = instantOf(day - 864e5 + schedule.hour * 36e5, schedule.timeZone);
  return candidate;
}
