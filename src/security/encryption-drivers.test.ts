/**
 * Encryption at rest over the networked drivers: the conformance suite with the decorator on,
 * and a grep of the raw Postgres rows and Redis values for a known plaintext.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { testStoreConformance } from "../../test/store-conformance/index.ts";
import { createSessionStore } from "../store/core.ts";
import { createPostgresDriver } from "../store/drivers/postgres.ts";
import { adminQuery, dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { createRedisDriver } from "../store/drivers/redis.ts";
import type { SessionStore } from "../store/types.ts";
import { createKeyring } from "./encryption/keyring.ts";
import { sealedStoreLimits } from "./encryption/sealed-limits.ts";
import { withEncryption } from "./encryption/with-encryption.ts";

const REDIS_URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const keyring = createKeyring([{ kid: "k1", key: randomBytes(32) }]);
const schema = uniqueSchema("hf_sec");
const prefix = `hfsec-${randomBytes(6).toString("hex")}`;
const SECRET = "plover-zebra-7731 is my recovery phrase";

after(async () => {
  await dropSchema(schema);
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const openPostgres = async (clock?: () => number): Promise<SessionStore> =>
  withEncryption(
    createSessionStore(await createPostgresDriver({ connectionString: schemaUrl(schema) }), {
      ...(clock ? { clock } : {}),
      ...sealedStoreLimits(),
    }),
    { keyring },
  );
const openRedis = async (clock?: () => number): Promise<SessionStore> =>
  withEncryption(
    createSessionStore(await createRedisDriver({ url: `${REDIS_URL}?prefix=${prefix}` }), {
      ...(clock ? { clock } : {}),
      ...sealedStoreLimits(),
    }),
    { keyring },
  );

testStoreConformance({ name: "postgres + encryption", sealed: true, open: openPostgres });
testStoreConformance({ name: "redis + encryption", sealed: true, open: openRedis });

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("no plaintext in raw rows and values", () => {
  it("Postgres rows hold no plaintext", async () => {
    const store = await openPostgres();
    const s = await store.create("acme", { state: { note: SECRET }, items: [msg(SECRET)] });
    await store.append("acme", s.id, [msg(SECRET)]);
    assert.ok(JSON.stringify(await store.readItems("acme", s.id)).includes(SECRET));
    await store.close();
    const tables = await adminQuery(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
      [schema],
    );
    assert.ok(tables.rows.length > 0);
    let dumped = "";
    for (const { table_name } of tables.rows as { table_name: string }[]) {
      const rows = await adminQuery(`SELECT * FROM "${schema}"."${table_name}"`);
      dumped += JSON.stringify(rows.rows);
    }
    assert.ok(dumped.includes(s.id.slice(5)) || dumped.includes(s.id), "the session's rows were read");
    assert.ok(!dumped.includes("plover-zebra"), "plaintext found in a Postgres row");
  });

  it("Redis values hold no plaintext", async () => {
    const store = await openRedis();
    const s = await store.create("acme", { state: { note: SECRET }, items: [msg(SECRET)] });
    await store.append("acme", s.id, [msg(SECRET)]);
    await store.close();
    const redis = new Redis(REDIS_URL);
    let dumped = "";
    try {
      for (const key of await redis.keys(`${prefix}:*`)) {
        const type = await redis.type(key);
        const value =
          type === "string"
            ? await redis.getBuffer(key)
            : type === "hash"
              ? await redis.hgetallBuffer(key)
              : type === "list"
                ? await redis.lrangeBuffer(key, 0, -1)
                : type === "zset"
                  ? await redis.zrange(key, "0", "-1")
                  : type === "set"
                    ? await redis.smembers(key)
                    : type === "stream"
                      ? await redis.xrange(key, "-", "+")
                      : null;
        dumped += Buffer.isBuffer(value)
          ? value.toString("latin1")
          : JSON.stringify(value, (_k, v) =>
              v && v.type === "Buffer" && Array.isArray(v.data) ? Buffer.from(v.data).toString("latin1") : v,
            );
      }
    } finally {
      await redis.quit();
    }
    assert.ok(dumped.length > 0, "the store's keys were read");
    assert.ok(!dumped.includes("plover-zebra"), "plaintext found in a Redis value");
  });
});
