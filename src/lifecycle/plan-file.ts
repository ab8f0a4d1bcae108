/**
 * A cleanup plan read back from JSON (`holdfast cleanup --enforce --plan plan.json`, written by
 * `--dry-run --json`). The file may have been edited — an operator dropping the actions they do
 * not want is a fair use — so every action is checked before anything is applied (an unknown
 * action or a missing version must not half-apply a plan), and the totals are recomputed from the
 * actions that remain.
 */
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
