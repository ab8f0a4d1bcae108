/**
 * Daily reset instants in every kind of zone: whole- and half-hour offsets, offsets beyond ±12 h
 * (Pacific/Auckland, Pacific/Chatham: their days start before UTC's), 30-minute DST shifts
 * (Australia/Lord_Howe), zones whose clocks skip midnight (America/Santiago). The property is
 * checked against a brute-force oracle: the reset of a local day is the first instant its wall
 * clock reads the reset hour or later.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { lastResetAt } from "./reset-schedule.ts";

const ZONES = [
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "America/St_Johns",
  "America/Santiago",
  "Australia/Lord_Howe",
  "Pacific/Auckland",
  "Pacific/Chatham",
  "Pacific/Kiritimati",
  "Pacific/Pago_Pago",
  "Asia/Kathmandu",
];

const Q = 15 * 6e4;

const formats = new Map(
  ZONES.map((timeZone) => [
    timeZone,
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    }),
  ]),
);

/** Wall clock of `t` in `zone`, as UTC epoch ms (the oracle's own formatter, not the module's). */
function wall(t: number, zone: string): number {
  const f = formats.get(zone)!;
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(t)) if (part.type !== "literal") p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/**
 * The first instant whose wall clock reads `target` or later. Offsets and transitions fall on
 * quarter hours, so the answer is on the quarter-hour grid: scanning it is exact.
 */
function firstAtOrAfter(target: number, zone: string): number {
  for (let t = target - 15 * 36e5; t <= target + 15 * 36e5; t += Q) {
    if (wall(t, zone) >= target) return t;
  }
  throw new Error("no instant found");
}

/** Brute force: the latest reset (local days around `now`) at or before `now`. */
function oracle(hour: number, zone: string, now: number): number {
  const day = Math.floor(wall(now, zone) / 864e5) * 864e5;
  const resets = [-2, -1, 0, 1].map((d) => firstAtOrAfter(day + d * 864e5 + hour * 36e5, zone));
  return Math.max(...resets.filter((t) => t <= now));
}

/** Offset changes of `zone` in 2025–2027 (found day by day, then to the quarter hour). */
function transitions(zone: string): number[] {
  const offset = (t: number) => wall(t, zone) - t;
  const found: number[] = [];
  for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2028, 0, 1); t += 864e5) {
    if (offset(t) === offset(t + 864e5)) continue;
    let lo = t;
    let hi = t + 864e5;
    while (hi - lo > Q) {
      const mid = lo + Math.floor((hi - lo) / 2 / Q) * Q;
      if (offset(mid) === offset(t)) lo = mid;
      else hi = mid;
    }
    found.push(hi);
  }
  return found;
}

/** An instant within a day and a half of one of `zone`'s clock changes, or anywhere (zones without). */
const CHANGES = new Map(ZONES.map((zone) => [zone, transitions(zone)]));
const nearChange = (zone: string): fc.Arbitrary<number> => {
  const changes = CHANGES.get(zone)!;
  const anywhere = fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 0, 1) });
  if (changes.length === 0) return anywhere;
  const near = fc
    .tuple(
      fc.constantFrom(...changes),
      fc.integer({ min: -36 * 4, max: 36 * 4 }),
      fc.integer({ min: -1, max: 1 }),
    )
    .map(([change, quarters, nudge]) => change + quarters * Q + nudge);
  return fc.oneof({ arbitrary: near, weight: 4 }, { arbitrary: anywhere, weight: 1 });
};

describe("lastResetAt", () => {
  it("resets at the first instant the local clock reads the hour, in every zone (property)", () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...ZONES)
          .chain((timeZone) =>
            fc.tuple(fc.constant(timeZone), fc.integer({ min: 0, max: 23 }), nearChange(timeZone)),
          ),
        ([timeZone, hour, now]) => {
          assert.equal(lastResetAt({ hour, timeZone }, now), oracle(hour, timeZone, now));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("is right on the days clocks change in zones ahead of UTC by more than 12 hours", () => {
    // Auckland, 27 September 2026: 02:00 NZST (14:00 UTC the day before) jumps to 03:00 NZDT.
    const auckland = { hour: 2, timeZone: "Pacific/Auckland" };
    assert.equal(lastResetAt(auckland, Date.UTC(2026, 8, 27, 6)), Date.UTC(2026, 8, 26, 14));
    // Auckland, 5 April 2026: 03:00 NZDT goes back to 02:00 NZST; 02:00 first occurs at 13:00 UTC.
    assert.equal(lastResetAt(auckland, Date.UTC(2026, 3, 5, 6)), Date.UTC(2026, 3, 4, 13));
    // Chatham (+12:45/+13:45), 27 September 2026: 02:00 is a normal hour (13:15 UTC the day before).
    const chatham = { hour: 2, timeZone: "Pacific/Chatham" };
    assert.equal(lastResetAt(chatham, Date.UTC(2026, 8, 27, 6)), Date.UTC(2026, 8, 26, 13, 15));
    // …and 03:00 is skipped (02:45 → 03:45): the reset happens when the clocks jump, 14:00 UTC.
    const chatham3 = { hour: 3, timeZone: "Pacific/Chatham" };
    assert.equal(lastResetAt(chatham3, Date.UTC(2026, 8, 27, 6)), Date.UTC(2026, 8, 26, 14));
  });

  it("handles St. John's half-hour offset across both changes", () => {
    const stJohns = { hour: 2, timeZone: "America/St_Johns" };
    // 8 March 2026: 02:00 NST (05:30 UTC) jumps to 03:00 NDT.
    assert.equal(lastResetAt(stJohns, Date.UTC(2026, 2, 8, 12)), Date.UTC(2026, 2, 8, 5, 30));
    // 1 November 2026: 02:00 NDT goes back to 01:00 NST; 01:00 first occurs at 03:30 UTC.
    const one = { hour: 1, timeZone: "America/St_Johns" };
    assert.equal(lastResetAt(one, Date.UTC(2026, 10, 1, 12)), Date.UTC(2026, 10, 1, 3, 30));
  });
});
