import { randomBytes } from "node:crypto";
import { after } from "node:test";
import { Redis } from "ioredis";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import { createRedisDriver } from "./redis.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;

after(async () => {
  const redis = new Redis(URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

testStoreConformance({
  name: "redis",
  open: async (clock) =>
    createSessionStore(await createRedisDriver({ url: `${URL}?prefix=${prefix}` }), { clock }),
});

testStoreConformance({
  name: "redis (msgpack items)",
  open: async (clock) =>
    createSessionStore(await createRedisDriver({ url: `${URL}?prefix=${prefix}`, encoding: "msgpack" }), {
      clock,
    }),
});
