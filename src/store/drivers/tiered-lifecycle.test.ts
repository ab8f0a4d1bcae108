/**
 * Lifecycle of a tiered store (`--store redis://… --archive postgres://…`): the capability
 * conformance, and the hot replicas the sweeper's writes must drop.
 */
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
import { createStore } from "../create-store.ts";
import { isLifecycleCapable, isReplicaTarget, type ReplicaTarget, type StoreDriver } from "../driver.ts";
import { createTieredDriver } from "../tiered.ts";
import { createMemoryDriver } from "./memory.ts";
import { createPostgresDriver } from "./postgres.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "./postgres-test-support.ts";
import { createRedisDriver } from "./redis.ts";
import { sessionKeys } from "./redis-keys.ts";

const REDIS = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;
const schema = uniqueSchema();
const dir = mkdtempSync(join(tmpdir(), "holdfast-tiered-lifecycle-"));
const admin = new Redis(REDIS);

after(async () => {
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

async function tiered(clock: () => number) {
  const hot = await createRedisDriver({ url: `${REDIS}?prefix=${prefix}` });
  assert.ok(isReplicaTarget(hot));
  const durable = await createPostgresDriver({ connectionString: schemaUrl(schema) });
  return createSessionStore(createTieredDriver({ hot, durable }), { clock });
}

testLifecycleCapability({ name: "tiered redis > postgres", open: tiered });

testLifecycleCapability({
  name: "tiered memory > memory",
  open: async (clock) =>
    createSessionStore(
      createTieredDriver({
        hot: createMemoryDriver() as StoreDriver & ReplicaTarget,
        durable: createMemoryDriver(),
      }),
      { clock },
    ),
});

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("tiered lifecycle", () => {
  it("is lifecycle-capable when the durable tier is", () => {
    const durable = createMemoryDriver();
    assert.equal(
      isLifecycleCapable(
        createTieredDriver({ hot: createMemoryDriver() as StoreDriver & ReplicaTarget, durable }),
      ),
      true,
    );
  });

  it("the sweeper archives and purges on the durable tier and drops hot replicas", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = await createStore({
      url: `${REDIS}?prefix=${prefix}`,
      archive: schemaUrl(schema),
      clock: () => clock.now,
    });
    try {
      const t = `t-${randomBytes(4).toString("hex")}`;
      const archived = await store.create(t, { idleTtlMs: 60_000, items: [msg("keep me")] });
      const deleted = await store.create(t, {
        idleTtlMs: 60_000,
        metadata: { "lifecycle.on_expiry": "delete" },
        items: [msg("drop me")],
      });
      // Reads hydrate hot replicas.
      await store.readItems(t, archived.id);
      await store.readItems(t, deleted.id);
      const meta = (id: string) => sessionKeys(prefix, t, id)[0];
      assert.equal(await admin.exists(meta(archived.id)), 1, "replica in the hot tier");
      clock.now += 120_000;
      const archiver = createArchiver(store, { dir, clock: () => clock.now });
      const sweeper = createSweeper({
        store,
        policy: parseLifecyclePolicy({}),
        archiver,
        actionLog: createMemoryActionLog(),
        clock: () => clock.now,
      });
      const plan = await sweeper.plan({ tenant: t });
      assert.deepEqual(
        plan.actions.map((a) => [a.sessionId, a.action]).sort(),
        [
          [archived.id, "archive"],
          [deleted.id, "delete"],
        ].sort(),
      );
      const report = await sweeper.apply(plan);
      assert.equal(report.done, 2);
      assert.equal(await admin.exists(meta(archived.id)), 0, "the stub's stale replica is gone");
      assert.equal(await admin.exists(meta(deleted.id)), 0);
      const stub = await store.get(t, archived.id);
      assert.equal(stub.status, "archived");
      await assert.rejects(store.get(t, deleted.id), { code: "not_found" });
      const restored = await archiver.restore(t, archived.id);
      assert.equal(restored.status, "active");
      assert.deepEqual(
        (await store.readItems(t, archived.id)).map(
          (i) => (i.content.content as { text: string }[])[0]!.text,
        ),
        ["keep me"],
      );
    } finally {
      await store.close();
    }
  });
});
