import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { testLifecycleCapability } from "../../../test/store-conformance/lifecycle-capability.ts";
import { createMemoryActionLog } from "../../lifecycle/action-log.ts";
import { createArchiver } from "../../lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../../lifecycle/policy.ts";
import { createSweeper } from "../../lifecycle/sweeper.ts";
import { createSessionStore } from "../core.ts";
import { isLifecycleCapable } from "../driver.ts";
import { createRedisDriver } from "./redis.ts";
import { resolveRedisConfig } from "./redis-connect.ts";
import {
  lifecycleIndexMarkerKey,
  sessionKeys,
  tenantIdsKey,
  tenantIndexKey,
  tenantsKey,
} from "./redis-keys.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;

after(async () => {
  const redis = new Redis(URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

testLifecycleCapability({
  name: "redis",
  open: async (clock) =>
    createSessionStore(await createRedisDriver({ url: `${URL}?prefix=${prefix}` }), { clock }),
});

testLifecycleCapability({
  name: "redis (msgpack items)",
  open: async (clock) =>
    createSessionStore(await createRedisDriver({ url: `${URL}?prefix=${prefix}m`, encoding: "msgpack" }), {
      clock,
    }),
});

describe("redis lifecycle specifics", () => {
  const admin = new Redis(URL);
  after(() => admin.quit());
  const msg = { content: { type: "message", role: "user", content: "hi" } };

  it("finds sessions written before the lifecycle indexes existed (one rebuild per store)", async () => {
    const p = `${prefix}old`;
    const clock = { now: Date.UTC(2026, 0, 1) };
    const first = createSessionStore(await createRedisDriver({ url: `${URL}?prefix=${p}` }), {
      clock: () => clock.now,
    });
    const a = await first.create("old-t", { items: [msg] });
    const b = await first.create("old-t");
    await first.close();
    // What a store written by an earlier version holds: listing index and sessions only.
    await admin.del(tenantIdsKey(p, "old-t"), tenantsKey(p), lifecycleIndexMarkerKey(p));
    const driver = await createRedisDriver({ url: `${URL}?prefix=${p}` });
    try {
      assert.ok(isLifecycleCapable(driver));
      const found = await driver.scanSessions({ limit: 10 });
      assert.deepEqual(
        found.map((x) => x.id),
        [a.id, b.id].sort(),
      );
      assert.equal(await admin.get(lifecycleIndexMarkerKey(p)), "1");
    } finally {
      await driver.close();
    }
  });

  it("skips natively expired sessions and repairs their index entries once past the repair grace", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const driver = await createRedisDriver({ url: `${URL}?prefix=${prefix}`, indexRepairGraceMs: 1000 });
    const store = createSessionStore(driver, { clock: () => clock.now });
    try {
      assert.ok(isLifecycleCapable(driver));
      const t = `t-${randomBytes(4).toString("hex")}`;
      const gone = await store.create(t, { idleTtlMs: 500, items: [msg] });
      const kept = await store.create(t, { idleTtlMs: 500, items: [msg] });
      // Redis' own expiry removes every key of the session (grace after its deadline).
      await admin.del(...sessionKeys(prefix, t, gone.id));
      clock.now += 600;
      await store.create(t); // the core's clock moves on in the driver
      const early = await driver.scanSessions({ tenant: t, expiredAt: clock.now, limit: 10 });
      assert.deepEqual(
        early.map((x) => x.id),
        [kept.id],
      );
      assert.equal(
        await admin.zcard(tenantIdsKey(prefix, t)),
        3,
        "too young to repair: could be a create in flight",
      );
      clock.now += 1000;
      await driver.scanSessions({ tenant: t, expiredAt: clock.now, limit: 10 });
      assert.equal(await admin.zcard(tenantIdsKey(prefix, t)), 2);
      assert.equal(await admin.zcard(tenantIndexKey(prefix, t)), 2, "the listing entry goes too");
      const purged = await driver.purgeSessions([{ tenant: t, id: kept.id }]);
      assert.equal(purged.sessions, 1);
      assert.equal(await admin.zcard(tenantIdsKey(prefix, t)), 1);
    } finally {
      await store.close();
    }
  });
});

describe("redis expiry grace from the URL", () => {
  it("reads ?expiry_grace_ms= and rejects a bad value with the option's name", () => {
    assert.equal(
      resolveRedisConfig({ url: "redis://127.0.0.1:6379/0?expiry_grace_ms=600000" }).expiryGraceMs,
      600_000,
    );
    assert.equal(resolveRedisConfig({ url: "redis://127.0.0.1:6379/0" }).expiryGraceMs, 60_000);
    assert.throws(
      () => resolveRedisConfig({ url: "redis://127.0.0.1:6379/0?expiry_grace_ms=soon" }),
      /expiryGraceMs/,
    );
  });
});

describe("the sweeper on Redis", () => {
  const admin = new Redis(URL);
  after(() => admin.quit());
  const item = (text: string) => ({ content: { type: "message", role: "user", content: text } });

  it("archives and deletes; sessions Redis expired by itself are skipped, never counted as removed", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const driver = await createRedisDriver({ url: `${URL}?prefix=${prefix}` });
    const store = createSessionStore(driver, { clock: () => clock.now });
    const dir = mkdtempSync(join(tmpdir(), "holdfast-redis-sweep-"));
    try {
      const t = `sw-${randomBytes(4).toString("hex")}`;
      const del = { "lifecycle.on_expiry": "delete" };
      const archived = await store.create(t, { idleTtlMs: 60_000, items: [item("a"), item("b")] });
      const deleted = await store.create(t, { idleTtlMs: 60_000, metadata: del, items: [item("c")] });
      const goneEarly = await store.create(t, { idleTtlMs: 60_000, metadata: del, items: [item("d")] });
      const goneLate = await store.create(t, { idleTtlMs: 60_000, metadata: del, items: [item("e")] });
      await store.create(t, { items: [item("live")] });
      // Native expiry removed one session's keys before the sweeper planned…
      await admin.del(...sessionKeys(prefix, t, goneEarly.id));
      clock.now += 120_000;
      const log = createMemoryActionLog();
      const sweeper = createSweeper({
        store,
        policy: parseLifecyclePolicy({}),
        archiver: createArchiver(store, { dir, clock: () => clock.now }),
        actionLog: log,
        clock: () => clock.now,
      });
      const plan = await sweeper.plan({ tenant: t });
      assert.deepEqual(
        plan.actions.map((a) => [a.sessionId, a.action]).sort(),
        [
          [archived.id, "archive"],
          [deleted.id, "delete"],
          [goneLate.id, "delete"],
        ].sort(),
      );
      // …and another one between planning and enforcing.
      await admin.del(...sessionKeys(prefix, t, goneLate.id));
      const report = await sweeper.apply(plan);
      assert.equal(report.done, 2);
      assert.equal(report.skipped, 1);
      assert.equal(report.itemsRemoved, 3, "2 archived + 1 deleted; nothing for what Redis removed");
      const outcomes = Object.fromEntries(log.entries.map((e) => [e.sessionId, e.outcome]));
      assert.deepEqual(outcomes, { [archived.id]: "done", [deleted.id]: "done", [goneLate.id]: "skipped" });
      assert.equal((await store.get(t, archived.id)).status, "archived");
      const restored = await createArchiver(store, { dir, clock: () => clock.now }).restore(t, archived.id);
      assert.equal(restored.itemCount, 2);
      assert.equal((await store.readItems(t, archived.id)).length, 2);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
