import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { startRedisServer } from "../../../test/redis-cluster/index.ts";
import { startReplyEatingProxy } from "../../../test/support/reply-eating-proxy.ts";
import { createSessionStore } from "../core.ts";
import { createStore } from "../create-store.ts";
import { readHead } from "../decorators/delegating-store.ts";
import type { SessionStore } from "../types.ts";
import { createRedisDriver } from "./redis.ts";
import { indexMember, sessionKeys, tenantIndexKey } from "./redis-keys.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;
const admin = new Redis(URL);

after(async () => {
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

const msg = (text: string) => ({ content: { type: "message", role: "user", content: text } });

function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function withStore(
  clock: { now: number },
  work: (store: SessionStore) => Promise<void>,
  options: { indexRepairGraceMs?: number } = {},
): Promise<void> {
  const driver = await createRedisDriver({ url: `${URL}?prefix=${prefix}`, ...options });
  const store = createSessionStore(driver, { clock: () => clock.now });
  try {
    await work(store);
  } finally {
    await store.close();
  }
}

describe("redis driver: start-up and outages", () => {
  it("fails at start-up with unavailable naming the address when nothing listens", async () => {
    const port = await unusedPort();
    await assert.rejects(createStore(`redis://127.0.0.1:${port}/0`), (error: Error & { code?: string }) => {
      assert.equal(error.code, "unavailable");
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.message, /Check the store URL/);
      return true;
    });
  });

  it("rejects malformed URLs and options with invalid_argument naming the problem", async () => {
    const cases: [string, RegExp][] = [
      ["redis://127.0.0.1:99999/0", /invalid host:port/],
      ["redis://a:1,b:2/0", /redis\+cluster/],
      ["redis://127.0.0.1:6379/x", /database 'x'/],
      ["redis://127.0.0.1:6379/0?prefix=a{b}", /prefix/],
      ["redis://127.0.0.1:6379/0?encoding=xml", /encoding/],
      ["redis+cluster://127.0.0.1:7000/2", /only database 0/],
    ];
    for (const [url, pattern] of cases) {
      await assert.rejects(createStore(url), (error: Error & { code?: string }) => {
        assert.equal(error.code, "invalid_argument", url);
        assert.match(error.message, pattern);
        return true;
      });
    }
  });

  it("fails at start-up naming the problem when the password is wrong or missing", async () => {
    const server = await startRedisServer({ password: "s3cret" });
    try {
      for (const url of [`redis://:wrong@127.0.0.1:${server.port}/0`, server.url]) {
        await assert.rejects(createStore(url), (error: Error & { code?: string }) => {
          assert.equal(error.code, "unavailable");
          assert.match(error.message, /WRONGPASS|NOAUTH/);
          assert.match(error.message, /Check the store URL/);
          return true;
        });
      }
      const store = await createStore(`redis://:s3cret@127.0.0.1:${server.port}/0?prefix=${prefix}`);
      assert.equal((await store.create("t1")).tenant, "t1");
      await store.close();
    } finally {
      await server.stop();
    }
  });

  it("answers unavailable while Redis is down and reconnects by itself when it is back", async () => {
    const server = await startRedisServer();
    try {
      const store = await createStore({ url: `${server.url}?prefix=${prefix}&timeout=500` });
      try {
        const s = await store.create("t1");
        await server.kill(true);
        for (const call of [() => store.get("t1", s.id), () => store.append("t1", s.id, [msg("x")])]) {
          await assert.rejects(call(), (error: Error & { code?: string; retryAfterSeconds?: number }) => {
            assert.equal(error.code, "unavailable");
            assert.equal(error.retryAfterSeconds, 1);
            return true;
          });
        }
        await server.restart();
        // The server restarted empty (no persistence); reconnection is what is under test.
        for (let attempt = 0; ; attempt++) {
          try {
            const again = await store.create("t1");
            assert.equal((await store.get("t1", again.id)).id, again.id);
            break;
          } catch (error) {
            if ((error as { code?: string }).code !== "unavailable" || attempt > 100) throw error;
            await sleep(50);
          }
        }
      } finally {
        await store.close();
      }
    } finally {
      await server.stop();
    }
  });
});

describe("redis driver: a connection lost with a write's answer", () => {
  it("answers unavailable (not a 409 from running the write twice); a retry with the operation id lands once", async () => {
    const proxy = await startReplyEatingProxy(URL);
    const store = await createStore({ url: `${proxy.url}?prefix=${prefix}` });
    try {
      const s = await store.create("t-lost");
      const other = await store.create("t-lost");
      proxy.mute(true);
      const plain = store.append("t-lost", s.id, [msg("plain")]);
      const removal = store.delete("t-lost", other.id);
      await sleep(200);
      proxy.cut();
      proxy.mute(false);
      for (const outcome of await Promise.allSettled([plain, removal])) {
        assert.equal(outcome.status, "rejected");
        assert.equal((outcome.reason as { code?: string }).code, "unavailable", String(outcome.reason));
      }
      // Both ran once on Redis: the append's item is there once, the session is gone.
      assert.equal((await store.get("t-lost", s.id)).itemCount, 1);
      await assert.rejects(store.get("t-lost", other.id), { code: "not_found" });

      proxy.mute(true);
      const keyed = store.append("t-lost", s.id, [msg("keyed")], { operationId: "lost-answer" });
      await sleep(200);
      proxy.cut();
      proxy.mute(false);
      await assert.rejects(keyed, { code: "unavailable" });
      const retried = await store.append("t-lost", s.id, [msg("keyed")], { operationId: "lost-answer" });
      assert.equal(retried.replayed, true);
      assert.equal((await store.get("t-lost", s.id)).itemCount, 2);
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});

describe("redis driver: tenant index consistency", () => {
  it("skips a dangling index entry (crash between index and session writes) and repairs it once old", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    await withStore(
      clock,
      async (store) => {
        const tenant = `t-${randomBytes(4).toString("hex")}`;
        const live = await store.create(tenant);
        const key = tenantIndexKey(prefix, tenant);
        const young = indexMember(clock.now, "conv_00000000000000000000000000000001");
        const old = indexMember(clock.now - 10_000, "conv_00000000000000000000000000000002");
        await admin.zadd(key, 0, young, 0, old);
        assert.deepEqual(
          (await store.list(tenant)).data.map((s) => s.id),
          [live.id],
        );
        // The old entry is gone; the young one may be a creation in flight, so it stays.
        assert.deepEqual(
          (await admin.zrange(key, "0", "-1")).sort(),
          [indexMember(live.createdAt, live.id), young].sort(),
        );
        clock.now += 5_000;
        await store.list(tenant);
        assert.deepEqual(await admin.zrange(key, "0", "-1"), [indexMember(live.createdAt, live.id)]);
      },
      { indexRepairGraceMs: 5_000 },
    );
  });

  it("keeps exactly one entry per session through failed duplicate creates, re-creation and deletion", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    await withStore(clock, async (store) => {
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const key = tenantIndexKey(prefix, tenant);
      const s = await store.create(tenant);
      clock.now += 1000;
      await assert.rejects(store.create(tenant, { id: s.id }), { code: "conflict" });
      assert.deepEqual(await admin.zrange(key, "0", "-1"), [indexMember(s.createdAt, s.id)]);
      await store.delete(tenant, s.id);
      assert.equal(await admin.zcard(key), 0);
      // An entry left by a crash after delete, then the id re-created: listed once, at its new time.
      await admin.zadd(key, 0, indexMember(s.createdAt, s.id));
      const again = await store.create(tenant, { id: s.id });
      const page = await store.list(tenant);
      assert.deepEqual(
        page.data.map((x) => [x.id, x.createdAt]),
        [[s.id, again.createdAt]],
      );
      assert.deepEqual(await admin.zrange(key, "0", "-1"), [indexMember(again.createdAt, s.id)]);
    });
  });

  it("fills filtered pages across many non-matching sessions", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    await withStore(clock, async (store) => {
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const wanted: string[] = [];
      for (let i = 0; i < 300; i++) {
        const s = await store.create(tenant, { owner: i % 50 === 0 ? "rare" : "common" });
        if (i % 50 === 0) wanted.push(s.id);
        clock.now += 1;
      }
      const page = await store.list(tenant, { owner: "rare", limit: 5, order: "asc" });
      assert.deepEqual(
        page.data.map((s) => s.id),
        wanted.slice(0, 5),
      );
      assert.ok(page.nextCursor);
      const rest = await store.list(tenant, {
        owner: "rare",
        limit: 5,
        order: "asc",
        cursor: page.nextCursor,
      });
      assert.deepEqual(
        rest.data.map((s) => s.id),
        wanted.slice(5),
      );
      assert.equal(rest.nextCursor, null);
    });
  });
});

describe("redis driver: native expiry", () => {
  it("aligns every session key's expiry with its idle/absolute TTL and clears it when the TTL goes", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    await withStore(clock, async (store) => {
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const s = await store.create(tenant, { idleTtlMs: 600_000, items: [msg("a")] });
      await store.append(tenant, s.id, [msg("b")], { operationId: "op-1" });
      const keys = sessionKeys(prefix, tenant, s.id);
      const ttls = async () => Promise.all(keys.map((k) => admin.pttl(k)));
      // deadline - now + 60 s grace, set relative to the core's clock (not Redis').
      for (const ttl of await ttls()) assert.ok(ttl > 600_000 && ttl <= 660_000, `pttl ${ttl}`);
      await store.update(tenant, s.id, { idleTtlMs: null, expiresAt: clock.now + 30_000 });
      for (const ttl of await ttls()) assert.ok(ttl > 0 && ttl <= 90_000, `pttl ${ttl}`);
      await store.update(tenant, s.id, { expiresAt: null });
      assert.deepEqual(await ttls(), [-1, -1, -1, -1, -1]);
    });
  });

  it("names the encoding to use when items were written with another one", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const tenant = `t-${randomBytes(4).toString("hex")}`;
    const packed = createSessionStore(
      await createRedisDriver({ url: `${URL}?prefix=${prefix}`, encoding: "msgpack" }),
      { clock: () => clock.now },
    );
    const s = await packed.create(tenant, { items: [msg("packed")] });
    assert.equal((await packed.readItems(tenant, s.id))[0]?.content.content, "packed");
    await packed.close();
    await withStore(clock, async (store) => {
      await assert.rejects(store.readItems(tenant, s.id), /encoding=msgpack/);
    });
  });
});

describe("redis driver: long forks", () => {
  it("copies a history longer than one chunk, hidden until complete, then with the session's own expiry", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    await withStore(clock, async (store) => {
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const parent = await store.create(tenant, { idleTtlMs: 3_600_000 });
      for (let batch = 0; batch < 5; batch++) {
        await store.append(
          tenant,
          parent.id,
          Array.from({ length: 900 }, (_, i) => ({ ...msg(`m${batch * 900 + i + 1}`), tokens: 3 })),
        );
      }
      const child = await store.fork(tenant, parent.id, { atSeq: 4321 });
      assert.equal(child.itemCount, 4321);
      assert.equal(child.tokenCount, 4321 * 3);
      assert.deepEqual(await store.get(tenant, child.id), child);
      for (const seq of [1, 2000, 2001, 4000, 4001, 4321]) {
        const [item] = await store.readItems(tenant, child.id, { afterSeq: seq - 1, limit: 1 });
        assert.equal(item?.seq, seq);
        assert.equal(item?.content.content, `m${seq}`);
      }
      const window = await store.readWindow(tenant, child.id, { maxTokens: 30 });
      assert.deepEqual(
        window.items.map((i) => i.seq),
        Array.from({ length: 10 }, (_, i) => 4312 + i),
      );
      // (The fork has no operation records yet, so no ops key.)
      for (const key of sessionKeys(prefix, tenant, child.id).slice(0, 4)) {
        const ttl = await admin.pttl(key);
        assert.ok(ttl > 3_600_000 && ttl <= 3_660_000, `${key} pttl ${ttl}`);
      }
      assert.ok((await store.list(tenant)).data.some((s) => s.id === child.id));
      // A fork whose copy never finished (its hash still marked building) is invisible everywhere.
      await admin.hset(sessionKeys(prefix, tenant, child.id)[0], "building", "1");
      await assert.rejects(store.get(tenant, child.id), { code: "not_found" });
      await assert.rejects(store.append(tenant, child.id, [msg("x")]), { code: "not_found" });
      assert.ok(!(await store.list(tenant)).data.some((s) => s.id === child.id));
    });
  });
});

describe("redis driver: several instances on one Redis", () => {
  it("keeps versions, idempotency and seq exact across two clients", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    await withStore(clock, async (a) => {
      await withStore(clock, async (b) => {
        const tenant = `t-${randomBytes(4).toString("hex")}`;
        const s = await a.create(tenant);
        const racers = Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).append(tenant, s.id, [msg(`r${i}`)], { expectedVersion: 1 }),
        );
        const settled = await Promise.allSettled(racers);
        assert.equal(settled.filter((r) => r.status === "fulfilled").length, 1);
        // Every append is sent twice, once through each client: each lands exactly once.
        const sends = Array.from({ length: 30 }, (_, i) => [
          a.append(tenant, s.id, [msg(`q${i}`), msg(`a${i}`)], { operationId: `op-${i}` }),
          b.append(tenant, s.id, [msg(`q${i}`), msg(`a${i}`)], { operationId: `op-${i}` }),
        ]).flat();
        const results = await Promise.all(sends);
        assert.equal(results.filter((r) => r.replayed).length, 30);
        const items = await b.readItems(tenant, s.id, { limit: 1000 });
        assert.deepEqual(
          items.map((i) => i.seq),
          Array.from({ length: 61 }, (_, i) => i + 1),
        );
        const head = await a.get(tenant, s.id);
        assert.equal(head.version, 32);
        assert.equal(head.itemCount, 61);
      });
    });
  });
});

describe("redis driver: session head", () => {
  it("answers a session's head from one HMGET, without its JSON fields, not_found like get", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    await withStore(clock, async (store) => {
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const s = await store.create(tenant, { idleTtlMs: 60_000, items: [msg("a"), msg("b")] });
      const [meta] = sessionKeys(prefix, tenant, s.id);
      // State that is not JSON: get cannot decode the session; its head needs no JSON field.
      await admin.hset(meta, "state", "{not json");
      await assert.rejects(store.get(tenant, s.id));
      assert.deepEqual(await readHead(store, tenant, s.id), {
        id: s.id,
        version: s.version,
        createdAt: s.createdAt,
        itemCount: 2,
        lastSeq: 2,
        tokenCount: s.tokenCount,
        status: "active",
      });
      const notFound = (error: Error & { code?: string }) => error.code === "not_found";
      // A copy still being built and a hot-tier replica past its retention are not sessions.
      await admin.hset(meta, "building", "1");
      await assert.rejects(readHead(store, tenant, s.id), notFound);
      await admin.hdel(meta, "building");
      await admin.hset(meta, "retainUntil", String(clock.now));
      await assert.rejects(readHead(store, tenant, s.id), notFound);
      await admin.hset(meta, "retainUntil", "null");
      await readHead(store, tenant, s.id);
      // Another schema is refused, as get refuses it, rather than misread.
      await admin.hset(meta, "schema", "0");
      await assert.rejects(readHead(store, tenant, s.id), /Redis schema 0/);
      await admin.hset(meta, "schema", "1");
      clock.now += 60_000;
      await assert.rejects(readHead(store, tenant, s.id), notFound);
    });
  });
});
