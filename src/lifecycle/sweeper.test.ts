import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createSystemRecords, systemRecordId } from "../security/system-records.ts";
import { createSessionStore } from "../store/core.ts";
import { isLifecycleCapable, type StoreDriver } from "../store/driver.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { createSqliteDriver } from "../store/drivers/sqlite.ts";
import type { SessionStore } from "../store/types.ts";
import { createFileActionLog, createMemoryActionLog } from "./action-log.ts";
import { createArchiver, lifecycleDriver } from "./archiver.ts";
import { parseLifecycleConfig } from "./config.ts";
import { parseCleanupPlan } from "./plan-file.ts";
import type { CleanupAction, CleanupPlan, CleanupReason, PlannedAction } from "./plan-types.ts";
import { parseLifecyclePolicy } from "./policy.ts";
import { createSweeper, LeaseHeldError } from "./sweeper.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sweeper-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const H = 36e5;
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

/** A memory store holding `n` sessions 2 h idle, a policy deleting them after 1 h idle, and the clock. */
async function idleSessions(n: number) {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const store = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
  const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h", on_expiry: "delete" } });
  for (let i = 0; i < n; i++) await store.create("t", { items: [msg(`${i}`)] });
  clock.now += 2 * H;
  return { clock, store, policy };
}

/** Sweeper options for holder A: batches of 3 under a 1 s lease. */
const shortLease = (clock: { now: number }) => ({
  holder: "A",
  clock: () => clock.now,
  batchSize: 3,
  leaseTtlMs: 1000,
});

async function seed(store: SessionStore, clock: { now: number }): Promise<void> {
  for (let i = 0; i < 30; i++) {
    clock.now += 1000;
    await store.create(i % 2 ? "t1" : "t2", {
      owner: `o${i % 4}`,
      idleTtlMs: i % 3 === 0 ? H : null,
      pinned: i === 9,
      metadata: i % 5 === 0 ? { "lifecycle.on_expiry": "delete" } : {},
      labels: ["x"],
      items: [msg(`a${i}`), msg(`b${i}`)],
    });
  }
}

describe("sweeper", () => {
  it("an enforce at the dry run's instant does exactly what the dry run said", async () => {
    const clock = { now: Date.UTC(2025, 11, 31, 23) };
    const store = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    await seed(store, clock);
    clock.now += 2 * H;
    const policy = parseLifecyclePolicy({ defaults: { max_sessions_per_owner: 5, reset: { hour: 0 } } });
    const log = createMemoryActionLog();
    const archiver = createArchiver(store, { dir: join(dir, "a1"), clock: () => clock.now });
    const sweeper = createSweeper({
      store,
      policy,
      archiver,
      actionLog: log,
      clock: () => clock.now,
      batchSize: 4,
    });
    const dry = await sweeper.plan();
    const again = await sweeper.plan({ now: dry.now });
    assert.deepEqual(again, dry, "planning is repeatable");
    assert.ok(dry.actions.length > 5);
    assert.ok(new Set(dry.actions.map((a) => a.reason)).size >= 2);
    const report = await sweeper.apply(again);
    assert.equal(report.done, dry.actions.length);
    assert.equal(report.skipped + report.errors, 0);
    assert.deepEqual(
      log.entries.map((e) => [e.action, e.reason, e.tenant, e.sessionId, e.bytesFreed]),
      dry.actions.map((a) => [a.action, a.reason, a.tenant, a.sessionId, a.bytes]),
    );
    assert.equal(report.bytesFreed, dry.totals.bytes);
    const stats = sweeper.stats();
    assert.equal(stats.runs, 1);
    assert.equal(
      Object.values(stats.actions).reduce((a, b) => a + b, 0),
      dry.actions.length,
    );
    const resets = log.entries.filter((e) => e.action === "reset");
    assert.ok(resets.length > 0);
    for (const r of resets) {
      const fresh = await store.get(r.tenant, r.newSessionId!);
      assert.deepEqual(fresh.labels, ["x"]);
      assert.equal(fresh.itemCount, 0);
    }
    const after = await sweeper.plan({ now: dry.now });
    assert.deepEqual(
      after.actions.map((a) => [a.action, a.reason, a.sessionId]),
      [],
      "nothing left to do at the same instant",
    );
    await store.close();
  });

  it("skips a planned session that changed before the enforce", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const policy = parseLifecyclePolicy({ defaults: { max_sessions_per_owner: 1, on_expiry: "delete" } });
    const old = await store.create("t", { owner: "ann", items: [msg("1")] });
    clock.now += 1000;
    await store.create("t", { owner: "ann" });
    const log = createMemoryActionLog();
    const sweeper = createSweeper({ store, policy, actionLog: log, clock: () => clock.now });
    const plan = await sweeper.plan();
    assert.deepEqual(
      plan.actions.map((a) => a.sessionId),
      [old.id],
    );
    await store.append("t", old.id, [msg("still here")]);
    const report = await sweeper.apply(plan);
    assert.equal(report.skipped, 1);
    assert.equal((await store.get("t", old.id)).itemCount, 2);
    assert.equal(log.entries[0]!.outcome, "skipped");
    await store.close();
  });

  it("pauses after each batch in proportion to the time the batch took (pauseRatio)", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = createSessionStore(createSqliteDriver({ path: join(dir, "pace.db") }), {
      clock: () => clock.now,
    });
    try {
      const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h", on_expiry: "delete" } });
      for (let i = 0; i < 10; i++) await store.create("t", { items: [msg(`${i}`), msg(`${i}b`)] });
      clock.now += 2 * H;
      const waits: number[] = [];
      const sleep = async (ms: number): Promise<void> => {
        waits.push(ms);
      };
      const ratio = createSweeper({ store, policy, batchSize: 2, pauseRatio: 3, sleep });
      const report = await ratio.apply(await ratio.plan());
      assert.equal(report.done, 10);
      // Five batches, a pause after each but the last, each worth 3× its batch's (non-zero) time.
      assert.equal(waits.length, 4);
      assert.ok(waits.every((w) => w > 0));
      assert.ok(waits.reduce((a, b) => a + b, 0) <= 3 * (report.durationMs + 1));
      // pauseMs stays the floor.
      for (let i = 0; i < 4; i++) await store.create("t", { items: [msg(`${i}`)] });
      clock.now += 2 * H;
      waits.length = 0;
      const floor = createSweeper({ store, policy, batchSize: 2, pauseMs: 50, pauseRatio: 0.001, sleep });
      await floor.apply(await floor.plan());
      assert.deepEqual(waits, [50]);
    } finally {
      await store.close();
    }
    assert.equal(parseLifecycleConfig({ sweeper: { pause_ratio: 0.5 } }).sweeper.pauseRatio, 0.5);
    assert.throws(() => parseLifecycleConfig({ sweeper: { pause_ratio: -1 } }), /pause_ratio/);
  });

  it("refuses a batchSize or concurrency that is not a whole number ≥ 1, naming the option", async () => {
    const store = createSessionStore(createMemoryDriver());
    try {
      const policy = parseLifecyclePolicy({});
      for (const [option, value] of [
        ["batchSize", 1.5],
        ["batchSize", 0.5],
        ["batchSize", 0],
        ["batchSize", -2],
        ["batchSize", Number.NaN],
        ["batchSize", Number.POSITIVE_INFINITY],
        ["batchSize", 2 ** 60],
        ["concurrency", 2.5],
      ] as const) {
        assert.throws(() => createSweeper({ store, policy, [option]: value }), {
          code: "invalid_argument",
          param: option,
          message: `Sweeper option ${option} must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER} (got ${value}).`,
        });
      }
      assert.equal(createSweeper({ store, policy, batchSize: 1, concurrency: 1 }).holder.length > 0, true);
    } finally {
      await store.close();
    }
  });

  it("applies nothing of a plan that acts on a system record other than by its own expiry", async () => {
    const T = Date.UTC(2026, 0, 1);
    const clock = { now: T };
    const store = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    try {
      const records = createSystemRecords(store);
      await records.create("api_key", "k1", { x: 1 }, { index: "acme" });
      await records.create("api_key", "k2", { x: 2 }, { expiresAt: T + H });
      const chat = await store.create("acme", { idleTtlMs: H, items: [msg("q")] });
      clock.now = T + 2 * H;
      const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h", on_expiry: "delete" } });
      const sweeper = createSweeper({ store, policy, clock: () => clock.now });
      const fresh = await sweeper.plan();
      assert.deepEqual(
        fresh.actions.map((a) => [a.tenant, a.sessionId, a.action, a.reason]),
        [
          ["_hf_api_key", systemRecordId("api_key", "k2"), "delete", "absolute_ttl"],
          ["acme", chat.id, "delete", "idle_ttl"],
        ],
      );
      const [expiredKey, chatAction] = fresh.actions as [PlannedAction, PlannedAction];
      const [k1] = await lifecycleDriver(store).scanSessions({
        tenant: "_hf_api_key",
        id: systemRecordId("api_key", "k1"),
        limit: 1,
      });
      assert.ok(k1);
      const forged = (action: CleanupAction, reason: CleanupReason): CleanupPlan => ({
        ...fresh,
        actions: [
          chatAction,
          { ...chatAction, tenant: k1.tenant, sessionId: k1.id, version: k1.version, action, reason },
        ],
      });
      // Refused when the file is read (any action but a delete for the record's own expiry)…
      for (const [action, reason] of [
        ["archive", "owner_limit"],
        ["delete", "tenant_budget"],
        ["reset", "reset_schedule"],
      ] as const) {
        const message = new RegExp(
          `^plan\\.actions\\[1\\] would ${action} session ${k1.id} of the reserved tenant '_hf_api_key' for ${reason}: `,
        );
        assert.throws(() => parseCleanupPlan(JSON.parse(JSON.stringify(forged(action, reason)))), {
          message,
        });
        await assert.rejects(sweeper.apply(forged(action, reason)), { code: "invalid_argument", message });
      }
      // …and when applied: what an older planner made of `defaults: { idle_ttl: 1h }`, on a key
      // with no idle TTL of its own, is read back fine but refused against the record.
      const idle = forged("delete", "idle_ttl");
      assert.equal(parseCleanupPlan(JSON.parse(JSON.stringify(idle))).actions.length, 2);
      await assert.rejects(sweeper.apply(idle), (error: Error & { code?: string; param?: string }) => {
        assert.equal(error.code, "invalid_argument");
        assert.equal(error.param, "plan");
        assert.match(
          error.message,
          /^plan\.actions\[1\] would delete .* for idle_ttl: .*this record has not expired/,
        );
        assert.match(error.message, /Nothing was applied\.$/);
        return true;
      });
      // A plan dated after the clock does not expire a record early.
      clock.now = T;
      await assert.rejects(
        sweeper.apply({ ...fresh, actions: [expiredKey] }),
        /plan\.actions\[0\] .*this record has not expired/,
      );
      clock.now = T + 2 * H;
      const [kept] = await lifecycleDriver(store).scanSessions({ tenant: "acme", id: chat.id, limit: 1 });
      assert.equal(kept?.version, chatAction.version, "nothing was applied");
      // The planner's own plan (the key past its expiresAt, the idle chat) applies.
      const report = await sweeper.apply(fresh);
      assert.equal(report.done, 2);
      assert.notEqual(await records.get("api_key", "k1"), null);
      const [gone] = await lifecycleDriver(store).scanSessions({ id: expiredKey.sessionId, limit: 1 });
      assert.equal(gone, undefined);
    } finally {
      await store.close();
    }
  });

  it("lets one sweeper at a time hold the lease; a crashed holder's lease expires", async () => {
    const file = join(dir, "lease.db");
    const clock = { now: Date.UTC(2026, 0, 1) };
    const open = (): SessionStore =>
      createSessionStore(createSqliteDriver({ path: file }), { clock: () => clock.now });
    const a = open();
    const b = open();
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h", on_expiry: "delete" } });
    for (let i = 0; i < 20; i++) await a.create("t", { items: [msg(`${i}`)] });
    clock.now += 2 * H;
    const opts = { policy, clock: () => clock.now, batchSize: 2, pauseMs: 5, leaseTtlMs: 60_000 };
    const sa = createSweeper({ store: a, holder: "A", ...opts });
    const sb = createSweeper({ store: b, holder: "B", ...opts });
    const plan = await sa.plan();
    assert.equal(plan.actions.length, 20);
    const results = await Promise.allSettled([sa.apply(plan), sb.apply(plan)]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const held = results.filter((r) => r.status === "rejected" && r.reason instanceof LeaseHeldError);
    assert.equal(ok.length, 1, `exactly one sweeper ran: ${JSON.stringify(results)}`);
    assert.equal(held.length, 1);
    assert.equal((ok[0] as PromiseFulfilledResult<{ done: number }>).value.done, 20);

    // A "crashes" holding the lease: B is refused until the lease expires.
    const driverA = (a as unknown as { driver: StoreDriver }).driver;
    assert.ok(isLifecycleCapable(driverA));
    assert.equal(await driverA.acquireLease("holdfast-sweeper", "A", 60_000, clock.now), true);
    assert.equal(await sb.sweepOnce(), null);
    clock.now += 60_001;
    const report = await sb.sweepOnce();
    assert.ok(report, "B sweeps once A's lease expired");
    assert.equal(sa.stats().leaseDenied + sb.stats().leaseDenied, 2);
    await a.close();
    await b.close();
  });

  it("keeps its lease through a pause longer than the lease, and applies no batch once it was taken meanwhile", async () => {
    const run = async (stall: number): Promise<{ done: number; leaseLost: boolean; taken: number }> => {
      const { clock, store, policy } = await idleSessions(9);
      const driver = lifecycleDriver(store);
      let taken = 0;
      // Each pause moves the clock on, then another instance tries to take the lease.
      const sleep = async (ms: number): Promise<void> => {
        clock.now += ms + stall;
        if (await driver.acquireLease("holdfast-sweeper", "B", 1000, clock.now)) {
          taken++;
          await driver.releaseLease("holdfast-sweeper", "B");
          if (stall > 0) await driver.acquireLease("holdfast-sweeper", "B", 1000, clock.now);
        }
      };
      // 1 action per second with 3 per batch: a 3 s pause, three times the lease's 1 s.
      const sweeper = createSweeper({ store, policy, ...shortLease(clock), maxOpsPerSecond: 1, sleep });
      const report = await sweeper.apply(await sweeper.plan());
      await store.close();
      return { done: report.done, leaseLost: report.leaseLost, taken };
    };
    assert.deepEqual(await run(0), { done: 9, leaseLost: false, taken: 0 }, "renewed during the pause");
    // The process stalls past the lease in a pause: B takes over, A applies nothing more.
    assert.deepEqual(await run(5000), { done: 3, leaseLost: true, taken: 1 });
  });

  it("stop() ends a background sweep after its current batch, cuts its pause short and releases the lease", async () => {
    const { clock, store, policy } = await idleSessions(6);
    const log = createMemoryActionLog();
    // 2 actions per batch with a 200 s pause after each.
    const sweeper = createSweeper({
      store,
      policy,
      holder: "A",
      clock: () => clock.now,
      batchSize: 2,
      pauseMs: 200_000,
      actionLog: log,
    });
    sweeper.start(1);
    while (log.entries.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const stopped = await Promise.race([
      sweeper.stop().then(() => "stopped"),
      new Promise((resolve) => setTimeout(resolve, 5000, "still sweeping").unref()).then(String),
    ]);
    assert.equal(stopped, "stopped", "SIGTERM does not wait out the sweep");
    assert.equal(log.entries.length, 2, "the batch in progress finished, no other started");
    assert.equal((await store.list("t")).data.length, 4);
    assert.equal(await lifecycleDriver(store).acquireLease("holdfast-sweeper", "B", 1000, clock.now), true);
    await lifecycleDriver(store).releaseLease("holdfast-sweeper", "B");
    await store.close();
  });

  it("keeps its lease through a batch that runs longer than the lease: no second sweeper gets in", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h", on_expiry: "archive" } });
    for (let i = 0; i < 8; i++) await store.create("t", { items: [msg(`${i}`)] });
    const real = createArchiver(store, { dir: join(dir, "long-batch") });
    // Archives of big sessions on a loaded store: each takes a third of the lease, so one batch
    // of 8 runs for about 2.7 leases.
    const LEASE_MS = 300;
    let started = false;
    const slow = {
      ...real,
      backend: real.backend,
      archive: async (tenant: string, id: string, version?: number) => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, LEASE_MS / 3));
        return real.archive(tenant, id, version);
      },
      restore: (tenant: string, id: string) => real.restore(tenant, id),
      purge: (targets: { tenant: string; id: string; version?: number }[]) => real.purge(targets),
    };
    const sweeper = createSweeper({
      store,
      policy,
      archiver: slow,
      holder: "A",
      batchSize: 8,
      concurrency: 1,
      leaseTtlMs: LEASE_MS,
    });
    const driver = lifecycleDriver(store);
    const plan = await sweeper.plan();
    assert.equal(plan.actions.length, 8);
    // Once A is applying, B tries to take the lease all along, as a second instance's sweeper would.
    let taken = 0;
    let sweeping = true;
    const rival = (async () => {
      while (sweeping && !started) await new Promise((resolve) => setTimeout(resolve, 5));
      while (sweeping) {
        if (await driver.acquireLease("holdfast-sweeper", "B", LEASE_MS, Date.now())) taken++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const report = await sweeper.apply(plan).finally(() => {
      sweeping = false;
    });
    await rival;
    assert.deepEqual(
      { done: report.done, leaseLost: report.leaseLost, taken },
      { done: 8, leaseLost: false, taken: 0 },
    );
    // Released at the end: B gets it at once.
    assert.equal(await driver.acquireLease("holdfast-sweeper", "B", LEASE_MS, Date.now()), true);
    await store.close();
  });

  it("stops when its lease was taken over mid-run and writes the action log file", async () => {
    const { clock, store, policy } = await idleSessions(10);
    const logFile = join(dir, "actions.jsonl");
    const sweeper = createSweeper({
      store,
      policy,
      ...shortLease(clock),
      actionLog: createFileActionLog(logFile),
    });
    const driver = (store as unknown as { driver: StoreDriver }).driver;
    assert.ok(isLifecycleCapable(driver));
    const plan = await sweeper.plan();
    const report = await sweeper.apply(plan, {
      onProgress: (done) => {
        if (done === 3) {
          // A stalls past its TTL; B takes the lease before A renews.
          clock.now += 1001;
          void driver.acquireLease("holdfast-sweeper", "B", 1000, clock.now);
        }
      },
    });
    assert.equal(report.leaseLost, true);
    assert.equal(report.done, 3);
    const lines = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.deepEqual(Object.keys(lines[0]).sort(), [
      "action",
      "at",
      "bytesFreed",
      "holder",
      "items",
      "outcome",
      "owner",
      "reason",
      "sessionId",
      "tenant",
    ]);
    await store.close();
  });
});
