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

/** The instant at which the wall clock of `timeZone` shows `wall` (fields given as UTC epoch ms). */
function instantOf(wall: number, timeZone: string): number {
  let guess = wall - (wallClock(wall, timeZone) - wall);
  // A second pass settles guesses that straddle a UTC-offset change.
  guess = wall - (wallClock(guess, timeZone) - guess);
  return guess;
}

/** The most recent reset instant at or before `now`. */
export function lastResetAt(schedule: ResetSchedule, now: number): number {
  const wall = wallClock(now, schedule.timeZone);
  const day = Math.floor(wall / 864e5) * 864e5;
  let candidate = instantOf(day + schedule.hour * 36e5, schedule.timeZone);
  if (candidate > now) candidate = instantOf(day - 864e5 + schedule.hour * 36e5, schedule.timeZone);
  return candidate;
}
