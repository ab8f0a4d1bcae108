/**
 * A batch's plain deletes go to the driver's bulk purge in calls of at most PURGE_CHUNK_ITEMS
 * planned items, with the lease checked between calls: a lease lost while one call runs stops
 * the batch after that call, not after every delete of the batch.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import {
  isLifecycleCapable,
  type LifecycleCapable,
  type PurgeTarget,
  type StoreDriver,
} from "../store/driver.ts";
import { createSqliteDriver } from "../store/drivers/sqlite.ts";
import { createMemoryActionLog } from "./action-log.ts";
import { parseLifecyclePolicy } from "./policy.ts";
import { PURGE_CHUNK_ITEMS } from "./sweep-batch.ts";
import { createSweeper } from "./sweeper.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sweep-batch-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const H = 36e5;
const msg = (text: string) => ({ content: { type: "message", role: "user", content: text } });

/** `driver` whose bulk purge runs `afterCall(targets)` once each call returned. */
function observed(driver: StoreDriver, afterCall: (targets: PurgeTarget[]) => Promise<void>): StoreDriver {
  return new Proxy(driver, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      if (key !== "purgeSessions") return value.bind(target);
      return async (targets: PurgeTarget[]) => {
        const result = await value.call(target, targets);
        await afterCall(targets);
        return result;
      };
    },
  });
}

it("stops a batch's deletes at the next purge call once its lease was taken over during one", async () => {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const real = createSqliteDriver({ path: join(dir, "chunks.db") });
  assert.ok(isLifecycleCapable(real));
  const leases: LifecycleCapable = real;
  const calls: number[] = [];
  const driver = observed(real, async (targets) => {
    calls.push(targets.length);
    if (calls.length > 1) return;
    // The first call outlasted the lease (a store stalled past the TTL): B took it meanwhile.
    clock.now += 1001;
    assert.equal(await leases.acquireLease("holdfast-sweeper", "B", 1000, clock.now), true);
  });
  const store = createSessionStore(driver, { clock: () => clock.now });
  try {
    // Three sessions of 60% of a purge call each: one call per session.
    const size = Math.ceil(PURGE_CHUNK_ITEMS * 0.6);
    const ids: string[] = [];
    for (let s = 0; s < 3; s++) {
      const { id } = await store.create("t", {});
      for (let i = 0; i < size; i += 1000)
        await store.append(
          "t",
          id,
          Array.from({ length: Math.min(1000, size - i) }, (_, j) => msg(`${s}.${i + j}`)),
        );
      ids.push(id);
    }
    clock.now += 2 * H;
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h", on_expiry: "delete" } });
    const log = createMemoryActionLog();
    const sweeper = createSweeper({
      store,
      policy,
      holder: "A",
      clock: () => clock.now,
      batchSize: 200,
      leaseTtlMs: 1000,
      actionLog: log,
    });
    const plan = await sweeper.plan();
    assert.equal(plan.actions.length, 3);
    const report = await sweeper.apply(plan);
    assert.deepEqual(calls, [1], "no purge call after the lease was lost");
    assert.deepEqual([report.done, report.leaseLost, log.entries.length], [1, true, 1]);
    assert.equal((await store.list("t")).data.length, 2, "the rest waits for the next sweep");
  } finally {
    await store.close();
  }
});
