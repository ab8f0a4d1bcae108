import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { createRedisDriver } from "../store/drivers/redis.ts";
import { parseLifecycleConfig } from "./config.ts";
import { lifecycleNotices } from "./startup-notices.ts";

const URL = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-${randomBytes(6).toString("hex")}`;

describe("lifecycle start-up notices", () => {
  it("warns when Redis would expire sessions before the sweeper archives them, naming the fix", async () => {
    const config = parseLifecycleConfig({ sweeper: { interval: "5m" } });
    const short = await createRedisDriver({ url: `${URL}?prefix=${prefix}` });
    const long = await createRedisDriver({ url: `${URL}?prefix=${prefix}&expiry_grace_ms=600000` });
    try {
      const [notice, ...rest] = lifecycleNotices(short, config);
      assert.match(notice ?? "", /expiry_grace_ms=600000/);
      assert.deepEqual(rest, []);
      assert.deepEqual(lifecycleNotices(long, config), []);
      const deleting = parseLifecycleConfig({ defaults: { on_expiry: "delete" } });
      assert.deepEqual(lifecycleNotices(short, deleting), [], "nothing to lose when expiry deletes anyway");
      assert.deepEqual(lifecycleNotices(createMemoryDriver(), config), []);
    } finally {
      await Promise.all([short.close(), long.close()]);
    }
  });
});
