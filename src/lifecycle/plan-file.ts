/**
 * A cleanup plan read back from JSON (`holdfast cleanup --enforce --plan plan.json`, written by
 * `--dry-run --json`). The file may have been edited — an operator dropping the actions they do
 * not want is a fair use — so every action is checked before anything is applied (an unknown
 * action or a missing version must not half-apply a plan), and the totals are recomputed from the
 * actions that remain.
 */
import { isReservedTenant } from "../security/system-records.ts";
import type { LifecycleCapable } from "../store/driver.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import { checkSessionId, checkTenant, isPlainObject } from "../store/validate.ts";
import {
  addTo,
  CLEANUP_ACTIONS,
  CLEANUP_REASONS,
  type CleanupPlan,
  emptyTally,
  type PlannedAction,
  type Tally,
  tallyOf,
} from "./plan-types.ts";
import { isPlannableAction, SYSTEM_RECORD_ACTIONS, systemRecordVerdict } from "./planner.ts";

/** The last instant a `Date` holds. */
const MAX_EPOCH_MS = 8_640_000_000_000_000;

function fail(path: string, expected: string, value: unknown): never {
  const got = JSON.stringify(value) ?? "nothing";
  throw new InvalidArgumentError(
    `${path} must be ${expected} (got ${got.length > 60 ? `${got.slice(0, 59)}…` : got}).`,
    { param: "plan" },
  );
}

function count(value: unknown, path: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  return fail(path, "an integer ≥ 0", value);
}

function finite(value: unknown, path: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  return fail(path, "a number", value);
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], path: string): T {
  if (choices.includes(value as T)) return value as T;
  return fail(path, `one of ${choices.join(", ")}`, value);
}

function checked<T>(path: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new InvalidArgumentError(`${path}: ${(error as Error).message}`, { param: "plan" });
  }
}

function parseAction(value: unknown, path: string): PlannedAction {
  if (!isPlainObject(value)) return fail(path, "an object", value);
  const owner = value.owner ?? null;
  if (owner !== null && typeof owner !== "string") fail(`${path}.owner`, "a string or null", owner);
  return {
    action: oneOf(value.action, CLEANUP_ACTIONS, `${path}.action`),
    reason: oneOf(value.reason, CLEANUP_REASONS, `${path}.reason`),
    tenant: checked(`${path}.tenant`, () => checkTenant(value.tenant)),
    sessionId: checked(`${path}.sessionId`, () => checkSessionId(value.sessionId)),
    owner,
    version: count(value.version, `${path}.version`),
    ageMs: finite(value.ageMs, `${path}.ageMs`),
    idleMs: finite(value.idleMs, `${path}.idleMs`),
    items: count(value.items, `${path}.items`),
    bytes: count(value.bytes, `${path}.bytes`),
  };
}

const APPLIED_NOTHING = " Nothing was applied.";

/** Why action `i`, on a system record, is refused (`detail` adds what the record itself says). */
function systemRecordRefusal(a: PlannedAction, i: number, detail = "", after = ""): InvalidArgumentError {
  const allowed = SYSTEM_RECORD_ACTIONS.map((ok) => `${ok.action} for ${ok.reason}`).join(" or ");
  return new InvalidArgumentError(
    `plan.actions[${i}] would ${a.action} session ${a.sessionId} of the reserved tenant '${a.tenant}' for ${a.reason}: ` +
      `it holds a Holdfast system record (an API key, signing or data key…), which only its own expiry removes ` +
      `(${allowed})${detail}. Drop this action or plan again with --dry-run --json.${after}`,
    { param: "plan" },
  );
}

/**
 * Checks the plan's actions on system records (reserved `_hf*` tenants) against the records
 * themselves, before anything is applied: each must be what the planner plans for that record, a
 * delete for its own expiry or idle TTL, passed both at the plan's instant and at `now` (a plan
 * dated in the future does not expire an API key early). A record that is gone or changed since
 * the plan (another version) passes: the sweeper's version guard skips it. `invalid_argument`
 * naming `plan.actions[i]` otherwise. One read per such action; other actions cost nothing.
 */
export async function checkSystemRecordActions(
  driver: LifecycleCapable,
  plan: CleanupPlan,
  now: number,
): Promise<void> {
  for (const [i, a] of plan.actions.entries()) {
    if (!isReservedTenant(a.tenant)) continue;
    if (!isPlannableAction(a)) throw systemRecordRefusal(a, i, "", APPLIED_NOTHING);
    const [record] = await driver.scanSessions({ tenant: a.tenant, id: a.sessionId, limit: 1 });
    if (record === undefined || record.version !== a.version) continue;
    const verdict = systemRecordVerdict(record, Math.min(plan.now, now));
    if (verdict?.action !== a.action || verdict.reason !== a.reason) {
      const expiry = verdict === null ? "has not expired" : `expired by ${verdict.reason}`;
      const detail = `, and this record ${expiry} (its own TTLs, at the plan's instant and now)`;
      throw systemRecordRefusal(a, i, detail, APPLIED_NOTHING);
    }
  }
}

function isTally(value: unknown): value is Tally {
  return (
    isPlainObject(value) &&
    [value.sessions, value.items, value.bytes].every((n) => typeof n === "number" && Number.isFinite(n))
  );
}

/**
 * A plan as `--dry-run --json` prints it (or the `{ plan, report }` of `--enforce --json`), checked;
 * `invalid_argument` naming the first bad field (`plan.actions[3].version …`) otherwise.
 */
export function parseCleanupPlan(input: unknown): CleanupPlan {
  const value = isPlainObject(input) && isPlainObject(input.plan) ? input.plan : input;
  if (!isPlainObject(value)) return fail("plan", "an object", value);
  const now = value.now;
  if (typeof now !== "number" || !Number.isSafeInteger(now) || now < 0 || now > MAX_EPOCH_MS) {
    fail("plan.now", "epoch milliseconds", now);
  }
  const raw = value.tenant ?? null;
  const tenant = raw === null ? null : checked("plan.tenant", () => checkTenant(raw));
  if (!Array.isArray(value.actions)) return fail("plan.actions", "an array", value.actions);
  const actions = value.actions.map((a, i) => parseAction(a, `plan.actions[${i}]`));
  // A plan saved before system records were left alone (or edited by hand) may name an API key or
  // a data key with a retention action: only their own expiry removes them.
  for (const [i, a] of actions.entries()) {
    if (!isPlannableAction(a)) throw systemRecordRefusal(a, i);
  }
  const seen = new Set<string>();
  for (const [i, a] of actions.entries()) {
    const key = `${a.tenant}\u0000${a.sessionId}`;
    if (seen.has(key)) fail(`plan.actions[${i}].sessionId`, "a session no other action names", a.sessionId);
    seen.add(key);
  }
  const totals: CleanupPlan["totals"] = { ...emptyTally(), byReason: {}, byAction: {} };
  for (const a of actions) {
    addTo(totals, a.items, a.bytes);
    addTo(tallyOf(totals.byReason, a.reason), a.items, a.bytes);
    addTo(tallyOf(totals.byAction, a.action), a.items, a.bytes);
  }
  const warnings = Array.isArray(value.warnings) ? value.warnings.filter((w) => typeof w === "string") : [];
  const usage = isPlainObject(value.usage)
    ? (value.usage as CleanupPlan["usage"])
    : { before: {}, after: {} };
  return {
    now,
    tenant,
    actions,
    totals,
    pinned: isTally(value.pinned)
      ? (value.pinned as CleanupPlan["pinned"])
      : { ...emptyTally(), byTenant: {} },
    usage,
    warnings,
  };
}
