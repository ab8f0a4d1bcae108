import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Redis } from "ioredis";
import { startRedisServer } from "../../test/redis-cluster/index.ts";
import { createSecurity } from "../security/create-security.ts";
import { createSessionStore } from "../store/core.ts";
import type { StoreDriver } from "../store/driver.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { createPostgresDriver } from "../store/drivers/postgres.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { createRedisDriver } from "../store/drivers/redis.ts";
import { createSqliteDriver } from "../store/drivers/sqlite.ts";
import type { SessionStore } from "../store/types.ts";
import { createMetrics } from "./create-metrics.ts";
import { observeStorage } from "./storage-gauges.ts";
import { withStoreMetrics } from "./store-metrics.ts";

const item = (text: string) => ({ content: { type: "message", role: "user", content: text } });

/** The value of `name{tenant="…"}` in a scrape, or null when the series is absent. */
function sample(text: string, name: string, tenant: string): number | null {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{tenant="${tenant}"} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : null;
}

async function seed(store: SessionStore, clock: { now: number }): Promise<number> {
  const a = await store.create("acme", { items: [item("one"), item("two")] });
  await store.create("acme", { items: [item("three")], idleTtlMs: 1000 });
  const b = await store.create("beta", { items: [item("four")] });
  await store.update("beta", b.id, { status: "archived" });
  clock.now += 5000; // the idle session expires but is still stored until the sweeper runs
  return a.bytes;
}

const REDIS_URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";

/** Every driver with the lifecycle capability, each isolated (temp file, schema, key prefix). */
const DRIVERS: [string, () => Promise<{ driver: StoreDriver; cleanup: () => Promise<void> }>][] = [
  ["memory", async () => ({ driver: createMemoryDriver(), cleanup: async () => {} })],
  [
    "sqlite",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "holdfast-storage-gauges-"));
      return {
        driver: createSqliteDriver({ path: join(dir, "db.sqlite") }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
  [
    "postgres",
    async () => {
      const schema = uniqueSchema("hf_gauges");
      return {
        driver: await createPostgresDriver({ connectionString: schemaUrl(schema) }),
        cleanup: () => dropSchema(schema),
      };
    },
  ],
  [
    "redis",
    async () => {
      const prefix = `hftest-gauges-${randomBytes(6).toString("hex")}`;
      return {
        driver: await createRedisDriver({ url: `${REDIS_URL}?prefix=${prefix}` }),
        cleanup: async () => {
          const redis = new Redis(REDIS_URL);
          const keys = await redis.keys(`${prefix}:*`);
          if (keys.length > 0) await redis.del(...keys);
          await redis.quit();
        },
      };
    },
  ],
];

for (const [name, open] of DRIVERS) {
  test(`storage gauges by tenant, cached between scrapes (${name})`, async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const metrics = createMetrics({ defaultMetrics: false });
    const { driver, cleanup } = await open();
    const store = withStoreMetrics(createSessionStore(driver, { clock: () => clock.now }), metrics);
    assert.equal(sample(await metrics.registry.metrics(), "holdfast_sessions_active", "acme"), null);
    const stop = observeStorage(store, metrics, { maxAgeMs: 10_000, clock: () => clock.now });
    const firstBytes = await seed(store, clock);

    let text = await metrics.registry.metrics();
    assert.equal(sample(text, "holdfast_sessions_active", "acme"), 1, text);
    assert.equal(sample(text, "holdfast_items_stored", "acme"), 3);
    const acmeBytes = sample(text, "holdfast_bytes_stored", "acme")!;
    assert.ok(acmeBytes > firstBytes, `${acmeBytes} counts both acme sessions`);
    assert.equal(sample(text, "holdfast_sessions_active", "beta"), 0, "an archive stub is not active");
    assert.equal(sample(text, "holdfast_items_stored", "beta"), 0);

    // Within maxAgeMs a scrape reuses the totals: a new session is not seen yet.
    await store.create("acme", { items: [item("five")] });
    text = await metrics.registry.metrics();
    assert.equal(sample(text, "holdfast_sessions_active", "acme"), 1);
    // Once stale, a scrape serves the old totals and refreshes in the background.
    clock.now += 10_000;
    await metrics.registry.metrics();
    await new Promise((resolve) => setTimeout(resolve, 50));
    text = await metrics.registry.metrics();
    assert.equal(sample(text, "holdfast_sessions_active", "acme"), 2, text);
    assert.equal(sample(text, "holdfast_items_stored", "acme"), 4);

    stop();
    assert.equal(sample(await metrics.registry.metrics(), "holdfast_items_stored", "acme"), null);
    await store.close();
    await cleanup();
  });
}

test("tenant labels stay bounded", async () => {
  const metrics = createMetrics({ defaultMetrics: false, maxTenants: 2 });
  const store = createSessionStore(createMemoryDriver());
  for (const tenant of ["t1", "t2", "t3", "t4"]) await store.create(tenant, { items: [item(tenant)] });
  observeStorage(store, metrics);
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, "holdfast_sessions_active", "other"), 2, text);
  assert.equal(sample(text, "holdfast_sessions_active", "t1"), 1);
  assert.equal(sample(text, "holdfast_sessions_active", "t3"), null);
  await store.close();
});

test("system tenants (_hf_*) take none of the maxTenants slots: real tenants keep their labels", async () => {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-storage-gauges-system-"));
  try {
    // The scan (memory) and the aggregate (SQLite) both see system tenants first: they sort first.
    for (const driver of [createMemoryDriver(), createSqliteDriver({ path: join(dir, "db.sqlite") })]) {
      const metrics = createMetrics({ defaultMetrics: false, maxTenants: 2 });
      const store = createSessionStore(driver);
      const security = createSecurity({ store });
      await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] });
      await security.apiKeys.create({ tenant: "beta", scopes: ["admin"] });
      for (const tenant of ["acme", "beta"]) await store.create(tenant, { items: [item(tenant)] });
      const stop = observeStorage(store, metrics);
      const text = await metrics.registry.metrics();
      assert.equal(sample(text, "holdfast_sessions_active", "acme"), 1, `${driver.name}: ${text}`);
      assert.equal(sample(text, "holdfast_sessions_active", "beta"), 1, driver.name);
      assert.equal(sample(text, "holdfast_sessions_active", "other"), null, driver.name);
      // The system records are still counted, under their own tenant names.
      assert.equal(sample(text, "holdfast_sessions_active", "_hf_api_key"), 2, driver.name);
      stop();
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a store that is down fails no scrape: no storage series until it is back", async () => {
  const server = await startRedisServer();
  const metrics = createMetrics({ defaultMetrics: false });
  const store = withStoreMetrics(createSessionStore(await createRedisDriver({ url: server.url })), metrics);
  try {
    await store.create("acme", { items: [item("one")] });
    observeStorage(store, metrics);
    await server.kill();
    const down = await metrics.registry.metrics();
    assert.ok(
      down.includes(
        'holdfast_store_operation_duration_seconds_count{driver="redis",operation="create",outcome="ok"} 1',
      ),
      down,
    );
    assert.equal(sample(down, "holdfast_items_stored", "acme"), null);
    await server.restart();
    // The restarted server may have lost the data (no persistence): write once it answers again.
    for (let i = 0; i < 100; i++) {
      const written = await store.create("acme", { items: [item("two")] }).then(
        () => true,
        () => false,
      );
      if (written) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const back = await metrics.registry.metrics();
    assert.ok((sample(back, "holdfast_items_stored", "acme") ?? 0) >= 1, back);
  } finally {
    await store.close();
    await server.stop();
  }
});
