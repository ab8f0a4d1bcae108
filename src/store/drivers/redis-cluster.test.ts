import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Cluster } from "ioredis";
import { type RedisClusterHandle, startRedisCluster } from "../../../test/redis-cluster/index.ts";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { testLifecycleCapability } from "../../../test/store-conformance/lifecycle-capability.ts";
import { createSessionStore } from "../core.ts";
import { createStore } from "../create-store.ts";
import { createRedisDriver } from "./redis.ts";
import { sessionKeys } from "./redis-keys.ts";

const prefix = `hftest-${randomBytes(6).toString("hex")}`;
let cluster: RedisClusterHandle | undefined;

before(async () => {
  cluster = await startRedisCluster(3);
});

after(async () => {
  await cluster?.stop();
});

function clusterUrl(): string {
  assert.ok(cluster, "cluster not started");
  return `${cluster.url}?prefix=${prefix}`;
}

testStoreConformance({
  name: "redis cluster (3 masters)",
  open: async (clock) => createSessionStore(await createRedisDriver({ url: clusterUrl() }), { clock }),
});

testLifecycleCapability({
  name: "redis cluster (3 masters)",
  open: async (clock) => createSessionStore(await createRedisDriver({ url: clusterUrl() }), { clock }),
});

describe("redis cluster specifics", () => {
  it("keeps each session in one slot while a tenant's sessions spread over all masters, and lists them all", async () => {
    const store = await createStore(clusterUrl());
    const admin = new Cluster(cluster!.ports.map((port) => ({ host: "127.0.0.1", port })));
    try {
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const ids: string[] = [];
      for (let i = 0; i < 24; i++) {
        const s = await store.create(tenant, {
          items: [{ content: { type: "message", role: "user", content: "hi" } }],
        });
        await store.append(tenant, s.id, [
          { content: { type: "message", role: "assistant", content: "yo" } },
        ]);
        ids.push(s.id);
      }
      const slots = new Set<number>();
      for (const id of ids) {
        const keySlots = await Promise.all(
          sessionKeys(prefix, tenant, id).map(async (key) =>
            Number(await admin.call("CLUSTER", "KEYSLOT", key)),
          ),
        );
        assert.equal(new Set(keySlots).size, 1, "all keys of a session share one slot");
        slots.add(keySlots[0]!);
      }
      // 24 random ids over 16384 slots owned by 3 masters: every master holds some of them.
      const owners = new Set<number>();
      const shards = (await admin.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
      for (const slot of slots) {
        const shard = shards.find(([lo, hi]) => slot >= lo && slot <= hi);
        owners.add(shard![2][1]);
      }
      assert.equal(owners.size, 3);
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list(tenant, { limit: 7, cursor, order: "asc" });
        listed.push(...page.data.map((s) => s.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(new Set(listed), new Set(ids));
      assert.equal(listed.length, ids.length);
      for (const id of ids) assert.equal((await store.get(tenant, id)).itemCount, 2);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });

  it("answers unavailable for sessions on a dead master, serves the others, and recovers when it returns", async () => {
    const store = await createStore(`${clusterUrl()}&timeout=500`);
    const admin = new Cluster(cluster!.ports.map((port) => ({ host: "127.0.0.1", port })));
    try {
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const shards = (await admin.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
      const portOf = async (id: string): Promise<number> => {
        const slot = Number(await admin.call("CLUSTER", "KEYSLOT", sessionKeys(prefix, tenant, id)[0]));
        return shards.find(([lo, hi]) => slot >= lo && slot <= hi)![2][1];
      };
      const onDead: string[] = [];
      const onLive: string[] = [];
      while (onDead.length === 0 || onLive.length === 0) {
        const s = await store.create(tenant);
        ((await portOf(s.id)) === cluster!.ports[0] ? onDead : onLive).push(s.id);
      }
      await cluster!.killNode(0);
      await assert.rejects(store.get(tenant, onDead[0]!), { code: "unavailable" });
      await assert.rejects(store.append(tenant, onDead[0]!, [{ content: { type: "message" } }]), {
        code: "unavailable",
      });
      assert.equal((await store.get(tenant, onLive[0]!)).id, onLive[0]);
      await cluster!.restartNode(0);
      // The master came back empty (no persistence): reaching it again is what is under test.
      for (let attempt = 0; ; attempt++) {
        try {
          await store.get(tenant, onDead[0]!);
          assert.fail("the restarted master has no data");
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === "not_found") break;
          if (code !== "unavailable" || attempt > 200) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      await store.close();
      admin.disconnect();
    }
  });

  it("refuses a standalone redis:// URL pointed at a cluster node, naming the fix", async () => {
    await assert.rejects(createStore(`redis://127.0.0.1:${cluster!.ports[0]}/0`), /redis\+cluster:\/\//);
  });
});
