/**
 * The cleanup planner: a pure function from a snapshot of sessions, a policy and an instant to
 * the list of actions the sweeper would take. Same inputs → same plan, byte for byte (sessions
 * are ordered by (tenant, createdAt, id) and every tie is broken by id), which is what lets a dry run
 * promise exactly what an enforce at the same instant does.
 */
import { isReservedTenant } from "../security/system-records.ts";
import type { Session } from "../store/types.ts";
import {
  addTo,
  type CleanupAction,
  type CleanupPlan,
  type CleanupReason,
  emptyTally,
  type PlannedAction,
  tallyOf,
} from "./plan-types.ts";
import {
  type LifecyclePolicy,
  NO_POLICY,
  type SessionPolicy,
  sessionPolicy,
  tenantPolicy,
} from "./policy.ts";
import { lastResetAt } from "./reset-schedule.ts";

export interface PlanOptions {
  /** Plan only this tenant (the global budget is then not evaluated). */
  tenant?: string;
}

/** Bytes a session occupies in the store; an archive stub's items live in cold storage. */
export function storedBytes(session: Session): number {
  return session.status === "archived" ? 0 : session.bytes;
}

/**
 * Plan order: tenant, then creation time, then id. Creation order follows the storage order of
 * most engines (row ids, heap pages), so a sweep deletes neighbouring rows batch after batch.
 */
const byKey = (a: Session, b: Session): number =>
  a.tenant < b.tenant
    ? -1
    : a.tenant > b.tenant
      ? 1
      : a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** Eviction order: least recently active first, ties by id. */
const byIdle = (a: Session, b: Session): number => a.lastActiveAt - b.lastActiveAt || byKey(a, b);

/** The only actions the planner plans on a system record: its own expiry, as a delete. */
export const SYSTEM_RECORD_ACTIONS: readonly Readonly<Pick<PlannedAction, "action" | "reason">>[] =
  Object.freeze([
    { action: "delete", reason: "absolute_ttl" },
    { action: "delete", reason: "idle_ttl" },
  ]);

/** Whether `a` is an action the planner may plan for its session (always, outside `_hf*` tenants). */
export function isPlannableAction(a: Pick<PlannedAction, "tenant" | "action" | "reason">): boolean {
  return (
    !isReservedTenant(a.tenant) ||
    SYSTEM_RECORD_ACTIONS.some((ok) => ok.action === a.action && ok.reason === a.reason)
  );
}

/**
 * System records (API keys, signing and data keys, token families… in the reserved `_hf*`
 * tenants) are not conversations: no retention rule, owner limit, reset or budget applies to them
 * (an idle TTL would delete every API key, a data key lost is its session's content lost). Only
 * their own `expiresAt`/`idleTtlMs` remove them, which the store already hides them at.
 */
function systemRecordPolicy(s: Session): SessionPolicy {
  return { ...NO_POLICY, idleTtlMs: s.idleTtlMs, onExpiry: "delete", invalidOverrides: [] };
}

/** Why a session must go on its own terms (expiry, reset), or null. */
function ownVerdict(
  s: Session,
  p: SessionPolicy,
  now: number,
): { action: CleanupAction; reason: CleanupReason } | null {
  const absoluteAt = s.expiresAt ?? (p.absoluteTtlMs === null ? null : s.createdAt + p.absoluteTtlMs);
  if (absoluteAt !== null && absoluteAt <= now) return { action: p.onExpiry, reason: "absolute_ttl" };
  if (p.idleTtlMs !== null && s.lastActiveAt + p.idleTtlMs <= now)
    return { action: p.onExpiry, reason: "idle_ttl" };
  if (p.reset !== null && s.itemCount > 0 && s.createdAt < lastResetAt(p.reset, now)) {
    return { action: "reset", reason: "reset_schedule" };
  }
  return null;
}

/** Whether the session's own `expiresAt`/`idleTtlMs` (what the store enforces) have passed, and which. */
function ownExpiry(s: Session, now: number): "absolute_ttl" | "idle_ttl" | null {
  if (s.expiresAt !== null && s.expiresAt <= now) return "absolute_ttl";
  if (s.idleTtlMs !== null && s.lastActiveAt + s.idleTtlMs <= now) return "idle_ttl";
  return null;
}

/** What the planner plans for the system record `s` (reserved `_hf*` tenant) at `now`, or null. */
export function systemRecordVerdict(
  s: Session,
  now: number,
): { action: CleanupAction; reason: CleanupReason } | null {
  return ownVerdict(s, systemRecordPolicy(s), now);
}

/** Computes the cleanup plan. Pure: reads nothing but its arguments, mutates nothing. */
export function planCleanup(
  snapshot: readonly Session[],
  policy: LifecyclePolicy,
  now: number,
  options: PlanOptions = {},
): CleanupPlan {
  const tenantFilter = options.tenant ?? null;
  const sessions = snapshot.filter((s) => tenantFilter === null || s.tenant === tenantFilter).sort(byKey);
  const plan: CleanupPlan = {
    now,
    tenant: tenantFilter,
    actions: [],
    totals: { ...emptyTally(), byReason: {}, byAction: {} },
    pinned: { ...emptyTally(), byTenant: {} },
    usage: { before: {}, after: {} },
    warnings: [],
  };
  const remaining: Session[] = [];
  const resetting = new Set<Session>();
  const policies = new Map<string, SessionPolicy>();
  const act = (s: Session, action: CleanupAction, reason: CleanupReason): void => {
    // An archive keeps the state in the stub: it frees the item bytes only.
    const keeps = action === "archive" || action === "reset" ? Buffer.byteLength(JSON.stringify(s.state)) : 0;
    const bytes = Math.max(0, storedBytes(s) - keeps);
    const items = s.status === "archived" ? 0 : s.itemCount;
    const entry: PlannedAction = {
      action,
      reason,
      tenant: s.tenant,
      sessionId: s.id,
      owner: s.owner,
      version: s.version,
      ageMs: now - s.createdAt,
      idleMs: now - s.lastActiveAt,
      items,
      bytes,
    };
    plan.actions.push(entry);
    addTo(plan.totals, items, bytes);
    addTo(tallyOf(plan.totals.byReason, reason), items, bytes);
    addTo(tallyOf(plan.totals.byAction, action), items, bytes);
    if (!isReservedTenant(s.tenant)) plan.usage.after[s.tenant] = (plan.usage.after[s.tenant] ?? 0) - bytes;
  };

  for (const s of sessions) {
    if (isReservedTenant(s.tenant)) {
      const verdict = systemRecordVerdict(s, now);
      if (verdict) act(s, verdict.action, verdict.reason);
      continue;
    }
    plan.usage.before[s.tenant] = (plan.usage.before[s.tenant] ?? 0) + storedBytes(s);
    plan.usage.after[s.tenant] = (plan.usage.after[s.tenant] ?? 0) + storedBytes(s);
    if (s.pinned) {
      addTo(plan.pinned, s.itemCount, storedBytes(s));
      addTo(tallyOf(plan.pinned.byTenant, s.tenant), s.itemCount, storedBytes(s));
      remaining.push(s);
      continue;
    }
    if (s.status === "archived") {
      // Its own TTLs (what the store hides it at: a caller archived a session with a TTL, or set
      // one on a stub) remove it with its archive; tenant TTLs do not apply to archives.
      const expired = ownExpiry(s, now);
      if (expired) act(s, "purge_archive", expired);
      else if (policy.archiveRetentionMs !== null && s.updatedAt + policy.archiveRetentionMs <= now) {
        act(s, "purge_archive", "archive_retention");
      }
      continue;
    }
    const p = sessionPolicy(policy, s);
    for (const key of p.invalidOverrides) {
      plan.warnings.push(
        `session ${s.id} (tenant ${s.tenant}): metadata '${key}' is not valid and was ignored`,
      );
    }
    policies.set(s.id, p);
    const verdict = ownVerdict(s, p, now);
    // A reset waits until owner limits are known: an owner over its limit loses the session instead.
    if (verdict?.action === "reset") resetting.add(s);
    if (verdict && verdict.action !== "reset") act(s, verdict.action, verdict.reason);
    else remaining.push(s);
  }

  const evict = (candidates: Session[], reason: CleanupReason, stillOver: () => boolean): void => {
    const evictable = new Set(remaining);
    for (const s of candidates.filter((c) => !c.pinned && evictable.has(c)).sort(byIdle)) {
      if (!stillOver()) return;
      act(s, policies.get(s.id)?.onExpiry ?? "archive", reason);
      remaining.splice(remaining.indexOf(s), 1);
      resetting.delete(s);
    }
  };

  // Max sessions per owner: pinned sessions count but are never evicted.
  const owners = new Map<string, Session[]>();
  for (const s of remaining) {
    if (s.owner === null) continue;
    const key = `${s.tenant}\u0000${s.owner}`;
    owners.set(key, [...(owners.get(key) ?? []), s]);
  }
  for (const group of owners.values()) {
    const max = tenantPolicy(policy, group[0]!.tenant).maxSessionsPerOwner;
    if (max === null || group.length <= max) continue;
    let count = group.length;
    evict(group, "owner_limit", () => count-- > max);
    // Only pinned sessions left above the limit: reported, as a budget that cannot be met is.
    const kept = group.filter((s) => remaining.includes(s)).length;
    if (kept > max) {
      plan.warnings.push(
        `owner ${group[0]!.owner} (tenant ${group[0]!.tenant}) keeps ${kept} sessions, over its limit of ${max}: the rest are pinned`,
      );
    }
  }

  // Resets due that no owner limit replaced; the fresh sessions they start are empty.
  for (const s of remaining.filter((r) => resetting.has(r))) {
    act(s, "reset", "reset_schedule");
    remaining.splice(remaining.indexOf(s), 1);
  }

  // Tenant budgets, then the global one: evict down to the low-water mark once above the high one.
  const { highWater, lowWater } = policy.budget;
  for (const tenant of Object.keys(plan.usage.after).sort()) {
    const budget = tenantPolicy(policy, tenant).budgetBytes;
    if (budget === null || plan.usage.after[tenant]! <= highWater * budget) continue;
    evict(
      remaining.filter((s) => s.tenant === tenant),
      "tenant_budget",
      () => plan.usage.after[tenant]! > lowWater * budget,
    );
    if (plan.usage.after[tenant]! > lowWater * budget) {
      plan.warnings.push(
        `tenant ${tenant} stays above its storage budget: its remaining sessions are pinned`,
      );
    }
  }
  const budget = policy.globalBudgetBytes;
  const total = (): number => Object.values(plan.usage.after).reduce((a, b) => a + b, 0);
  if (budget !== null && tenantFilter !== null) {
    plan.warnings.push("the global budget is only evaluated when planning every tenant");
  } else if (budget !== null && total() > highWater * budget) {
    evict([...remaining], "global_budget", () => total() > lowWater * budget);
    if (total() > lowWater * budget)
      plan.warnings.push("storage stays above the global budget: the rest is pinned");
  }
  return plan;
}
