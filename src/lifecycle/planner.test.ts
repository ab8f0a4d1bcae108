import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Session } from "../store/types.ts";
import { isPlannableAction, planCleanup } from "./planner.ts";
import { parseLifecyclePolicy, SESSION_OVERRIDE_KEYS, sessionPolicy } from "./policy.ts";
import { lastResetAt } from "./reset-schedule.ts";

const NOW = Date.UTC(2026, 5, 15, 12);
const H = 36e5;
let counter = 0;

function session(over: Partial<Session> = {}): Session {
  counter++;
  return {
    id: `conv_${counter.toString(16).padStart(32, "0")}`,
    tenant: "t1",
    owner: null,
    metadata: {},
    labels: [],
    state: {},
    version: 3,
    itemCount: 10,
    lastSeq: 10,
    tokenCount: 100,
    bytes: 1000,
    createdAt: NOW - 10 * H,
    updatedAt: NOW - H,
    lastActiveAt: NOW - H,
    idleTtlMs: null,
    expiresAt: null,
    status: "active",
    pinned: false,
    forkParent: null,
    ...over,
  };
}

describe("planCleanup", () => {
  it("expires by idle and absolute TTL with the tenant's on-expiry action; pinned sessions are only reported", () => {
    const policy = parseLifecyclePolicy({
      defaults: { idle_ttl: "2h", absolute_ttl: "1d", on_expiry: "delete" },
      tenants: { t2: { on_expiry: "archive" } },
    });
    const idle = session({ lastActiveAt: NOW - 3 * H });
    const old = session({ createdAt: NOW - 25 * H });
    const ownTtl = session({ idleTtlMs: H / 2 });
    const fine = session();
    const pinned = session({ pinned: true, lastActiveAt: NOW - 100 * H, bytes: 77 });
    const t2 = session({ tenant: "t2", lastActiveAt: NOW - 3 * H });
    const plan = planCleanup([fine, idle, old, ownTtl, pinned, t2], policy, NOW);
    const got = plan.actions.map((a) => [a.sessionId, a.action, a.reason]);
    assert.deepEqual(got, [
      [old.id, "delete", "absolute_ttl"],
      [idle.id, "delete", "idle_ttl"],
      [ownTtl.id, "delete", "idle_ttl"],
      [t2.id, "archive", "idle_ttl"],
    ]);
    // The archived one keeps its 2-byte state `{}` in the stub.
    assert.deepEqual(plan.totals.byReason.idle_ttl, { sessions: 3, items: 30, bytes: 2998 });
    assert.equal(plan.totals.bytes, 3998);
    assert.deepEqual(plan.pinned, {
      sessions: 1,
      items: 10,
      bytes: 77,
      byTenant: { t1: { sessions: 1, items: 10, bytes: 77 } },
    });
  });

  it("honours lifecycle.* metadata overrides and warns about invalid ones", () => {
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "2h" } });
    const keep = session({ lastActiveAt: NOW - 3 * H, metadata: { "lifecycle.idle_ttl": "1d" } });
    const never = session({ lastActiveAt: NOW - 300 * H, metadata: { "lifecycle.idle_ttl": "off" } });
    const bad = session({ lastActiveAt: NOW - 3 * H, metadata: { "lifecycle.idle_ttl": "soon" } });
    const plan = planCleanup([keep, never, bad], policy, NOW);
    assert.deepEqual(
      plan.actions.map((a) => a.sessionId),
      [bad.id],
    );
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!, /lifecycle\.idle_ttl/);
  });

  it("reports empty, null and non-decimal overrides as invalid instead of reading them as 0", () => {
    const policy = parseLifecyclePolicy({
      defaults: { idle_ttl: "2h", max_items_per_session: 50, reset: { hour: 4 } },
    });
    const K = SESSION_OVERRIDE_KEYS;
    for (const key of [K.reset, K.idleTtl, K.absoluteTtl, K.maxItems, K.maxBytes, K.maxTokens]) {
      for (const raw of ["", " ", null, "0x4", "4e0", "true"]) {
        const s = session({ metadata: { [key]: raw as string } });
        const p = sessionPolicy(policy, s);
        assert.deepEqual(p.invalidOverrides, [key], `${key}=${JSON.stringify(raw)}`);
        assert.deepEqual(
          p.reset,
          { hour: 4, timeZone: "UTC" },
          `${key}=${JSON.stringify(raw)} keeps the tenant's reset`,
        );
      }
    }
    assert.deepEqual(sessionPolicy(policy, session({ metadata: { [K.reset]: "0" } })).reset, {
      hour: 0,
      timeZone: "UTC",
    });
    assert.deepEqual(sessionPolicy(policy, session({ metadata: { [K.reset]: " 23 " } })).reset?.hour, 23);
    const plan = planCleanup([session({ metadata: { [K.reset]: "" } })], policy, NOW);
    assert.match(plan.warnings[0] ?? "", /lifecycle\.reset' is not valid/);
  });

  it("evicts the oldest idle sessions of an owner over the limit; pinned ones count but stay", () => {
    const policy = parseLifecyclePolicy({ defaults: { max_sessions_per_owner: 2 } });
    const a = session({ owner: "ann", lastActiveAt: NOW - 5 * H });
    const b = session({ owner: "ann", lastActiveAt: NOW - 9 * H, pinned: true });
    const c = session({ owner: "ann", lastActiveAt: NOW - 7 * H });
    const d = session({ owner: "ann", lastActiveAt: NOW - H });
    const other = session({ owner: "bob", lastActiveAt: NOW - 99 * H });
    const plan = planCleanup([a, b, c, d, other], policy, NOW);
    assert.deepEqual(
      plan.actions.map((x) => [x.sessionId, x.reason]),
      [
        [c.id, "owner_limit"],
        [a.id, "owner_limit"],
      ],
    );
    assert.deepEqual(plan.warnings, []);
  });

  it("reports an owner whose pinned sessions alone exceed the limit, evicting the rest", () => {
    const policy = parseLifecyclePolicy({ defaults: { max_sessions_per_owner: 1 } });
    const pinned = [2, 3].map((h) => session({ owner: "ann", lastActiveAt: NOW - h * H, pinned: true }));
    const loose = session({ owner: "ann", lastActiveAt: NOW - H });
    const plan = planCleanup([...pinned, loose], policy, NOW);
    assert.deepEqual(
      plan.actions.map((x) => [x.sessionId, x.reason]),
      [[loose.id, "owner_limit"]],
    );
    assert.equal(plan.pinned.sessions, 2);
    assert.deepEqual(plan.warnings, [
      "owner ann (tenant t1) keeps 2 sessions, over its limit of 1: the rest are pinned",
    ]);
  });

  it("evicts oldest idle non-pinned sessions from the high-water to the low-water mark", () => {
    const policy = parseLifecyclePolicy({
      defaults: { storage_budget: 10_000 },
      high_water: 0.9,
      low_water: 0.5,
    });
    const pinned = session({ pinned: true, bytes: 3000, lastActiveAt: NOW - 50 * H });
    const s1 = session({ bytes: 2000, lastActiveAt: NOW - 40 * H });
    const s2 = session({ bytes: 2000, lastActiveAt: NOW - 30 * H });
    const s3 = session({ bytes: 2000, lastActiveAt: NOW - 20 * H });
    const s4 = session({ bytes: 1000, lastActiveAt: NOW - 10 * H });
    const under = planCleanup([pinned, s1, s2], policy, NOW);
    assert.equal(under.actions.length, 0, "7000 ≤ 9000: nothing to do");
    const plan = planCleanup([s4, s3, s2, s1, pinned], policy, NOW);
    assert.deepEqual(
      plan.actions.map((x) => [x.sessionId, x.reason]),
      [
        [s1.id, "tenant_budget"],
        [s2.id, "tenant_budget"],
        [s3.id, "tenant_budget"],
      ],
    );
    assert.deepEqual(plan.usage, { before: { t1: 10_000 }, after: { t1: 4006 } });
    assert.deepEqual(plan.warnings, []);
    const stuck = planCleanup([session({ pinned: true, bytes: 9500 }), session({ bytes: 100 })], policy, NOW);
    assert.equal(stuck.actions.length, 1);
    assert.ok(stuck.warnings.some((w) => /pinned/.test(w)));
    const global = parseLifecyclePolicy({ global_budget: 4000, high_water: 1, low_water: 1 });
    const g = planCleanup(
      [
        session({ tenant: "a", bytes: 3000 }),
        session({ tenant: "b", bytes: 3000, lastActiveAt: NOW - 9 * H }),
      ],
      global,
      NOW,
    );
    assert.deepEqual(
      g.actions.map((x) => [x.tenant, x.reason]),
      [["b", "global_budget"]],
    );
  });

  it("resets sessions created before the last reset instant, and purges archives past retention", () => {
    const policy = parseLifecyclePolicy({
      defaults: { reset: { hour: 4, time_zone: "Europe/Paris" } },
      archive: { retention: "7d" },
    });
    const boundary = lastResetAt({ hour: 4, timeZone: "Europe/Paris" }, NOW);
    const before = session({ createdAt: boundary - 1 });
    const after = session({ createdAt: boundary + 1 });
    const empty = session({ createdAt: boundary - 1, itemCount: 0 });
    const stale = session({ status: "archived", updatedAt: NOW - 8 * 24 * H });
    const recent = session({ status: "archived", updatedAt: NOW - 6 * 24 * H });
    const plan = planCleanup([before, after, empty, stale, recent], policy, NOW);
    assert.deepEqual(
      plan.actions.map((x) => [x.sessionId, x.action, x.reason]),
      [
        [stale.id, "purge_archive", "archive_retention"],
        [before.id, "reset", "reset_schedule"],
      ],
    );
  });

  it("is deterministic and does not touch its input", () => {
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "2h", max_sessions_per_owner: 1 } });
    const list = Array.from({ length: 40 }, (_, i) =>
      session({ owner: `o${i % 3}`, lastActiveAt: NOW - (i % 5) * H, tenant: `t${i % 2}` }),
    );
    const frozen = structuredClone(list);
    const a = planCleanup(list, policy, NOW);
    const b = planCleanup([...list].reverse(), policy, NOW);
    assert.deepEqual(a, b);
    assert.deepEqual(list, frozen);
    assert.ok(a.actions.length > 0);
    const only = planCleanup(list, policy, NOW, { tenant: "t1" });
    assert.ok(only.actions.every((x) => x.tenant === "t1"));
  });
});

describe("planCleanup and system records", () => {
  it("applies no policy, owner limit, reset or budget to the reserved _hf tenants, only their own expiry", () => {
    const policy = parseLifecyclePolicy({
      defaults: {
        idle_ttl: "1h",
        absolute_ttl: "2h",
        on_expiry: "archive",
        max_sessions_per_owner: 1,
        storage_budget: "1kb",
        reset: { hour: 4 },
      },
      global_budget: "1kb",
    });
    const old = { createdAt: NOW - 100 * H, lastActiveAt: NOW - 100 * H, itemCount: 0, bytes: 5000 };
    const keyA = session({ ...old, tenant: "_hf_api_key", owner: "acme" });
    const keyB = session({ ...old, tenant: "_hf_api_key", owner: "acme" });
    const dataKey = session({ ...old, tenant: "_hf_data_key" });
    const expiredKey = session({ ...old, tenant: "_hf_api_key", owner: "acme", expiresAt: NOW - H });
    const plan = planCleanup([keyA, keyB, dataKey, expiredKey], policy, NOW);
    assert.deepEqual(
      plan.actions.map((a) => [a.sessionId, a.action, a.reason]),
      [[expiredKey.id, "delete", "absolute_ttl"]],
    );
    assert.ok(plan.actions.every(isPlannableAction), "what a saved plan may hold for a system record");
    assert.deepEqual(plan.usage, { before: {}, after: {} }, "system records count in no budget");
    assert.deepEqual(plan.warnings, []);
  });
});

describe("lastResetAt", () => {
  it("finds the last local reset hour across daylight saving changes", () => {
    const paris = { hour: 4, timeZone: "Europe/Paris" };
    // Summer (UTC+2): 04:00 Paris is 02:00 UTC.
    assert.equal(lastResetAt(paris, Date.UTC(2026, 5, 15, 12)), Date.UTC(2026, 5, 15, 2));
    assert.equal(lastResetAt(paris, Date.UTC(2026, 5, 15, 1)), Date.UTC(2026, 5, 14, 2));
    // Winter (UTC+1): 04:00 Paris is 03:00 UTC.
    assert.equal(lastResetAt(paris, Date.UTC(2026, 0, 10, 3)), Date.UTC(2026, 0, 10, 3));
    // The day after the spring change (29 March 2026).
    assert.equal(lastResetAt(paris, Date.UTC(2026, 2, 29, 12)), Date.UTC(2026, 2, 29, 2));
    assert.equal(
      lastResetAt({ hour: 0, timeZone: "UTC" }, Date.UTC(2026, 0, 1, 0, 0, 1)),
      Date.UTC(2026, 0, 1),
    );
  });

  it("resets once at the first 02:00 when Berlin's clocks go back, and at 03:00 when 02:00 is skipped", () => {
    const berlin = { hour: 2, timeZone: "Europe/Berlin" };
    // 25 October 2026: 03:00 CEST (01:00 UTC) goes back to 02:00 CET; 02:00 happens at 00:00 and 01:00 UTC.
    assert.equal(lastResetAt(berlin, Date.UTC(2026, 9, 25, 0, 30)), Date.UTC(2026, 9, 25, 0));
    assert.equal(lastResetAt(berlin, Date.UTC(2026, 9, 25, 1, 30)), Date.UTC(2026, 9, 25, 0));
    assert.equal(lastResetAt(berlin, Date.UTC(2026, 9, 26, 12)), Date.UTC(2026, 9, 26, 1));
    // 29 March 2026: 02:00 CET (01:00 UTC) jumps to 03:00 CEST; the reset happens at that instant.
    assert.equal(lastResetAt(berlin, Date.UTC(2026, 2, 29, 0, 30)), Date.UTC(2026, 2, 28, 1));
    assert.equal(lastResetAt(berlin, Date.UTC(2026, 2, 29, 1)), Date.UTC(2026, 2, 29, 1));
    assert.equal(lastResetAt(berlin, Date.UTC(2026, 2, 30, 12)), Date.UTC(2026, 2, 30, 0));
  });

  it("rejects unknown time zones and hours when the policy is parsed", () => {
    assert.throws(() => parseLifecyclePolicy({ defaults: { reset: { hour: 4, time_zone: "Mars/Base" } } }), {
      code: "invalid_argument",
    });
    assert.throws(() => parseLifecyclePolicy({ defaults: { reset: { hour: 24 } } }), /0\.\.23/);
    assert.throws(() => parseLifecyclePolicy({ defaults: { idle_tll: "1d" } }), /idle_tll/);
  });
});
