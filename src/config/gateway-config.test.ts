import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultWindowCacheBytes } from "../store/decorators/window-cache.ts";
import { parseGatewayConfig } from "./gateway-config.ts";

describe("gateway config", () => {
  it("defaults to queue with a 15 s claim and a 60 s wait, and a window cache sized to the heap", () => {
    assert.deepEqual(parseGatewayConfig(undefined), {
      busyPolicy: "queue",
      busyClaimTtlMs: 15_000,
      busyMaxWaitMs: 60_000,
      windowCacheBytes: defaultWindowCacheBytes(),
    });
  });

  it("reads the window cache size, or off", () => {
    assert.equal(parseGatewayConfig({ window_cache: "256mb" }).windowCacheBytes, 256_000_000);
    assert.equal(parseGatewayConfig({ window_cache: "1GiB" }).windowCacheBytes, 1024 ** 3);
    assert.equal(parseGatewayConfig({ window_cache: 1_000_000 }).windowCacheBytes, 1_000_000);
    for (const off of ["off", 0, "0", false]) {
      assert.equal(parseGatewayConfig({ window_cache: off }).windowCacheBytes, 0, String(off));
    }
    assert.throws(() => parseGatewayConfig({ window_cache: "lots" }), /gateway\.window_cache/);
    assert.throws(() => parseGatewayConfig({ window_cache: -5 }), /gateway\.window_cache/);
  });

  it("reads the busy settings, durations with units", () => {
    assert.deepEqual(
      parseGatewayConfig({ busy_policy: "reject", busy_claim_ttl: "2s", busy_max_wait: 500 }),
      {
        busyPolicy: "reject",
        busyClaimTtlMs: 2_000,
        busyMaxWaitMs: 500,
        windowCacheBytes: defaultWindowCacheBytes(),
      },
    );
  });

  it("refuses unknown keys, policies and out-of-range durations with the key named", () => {
    assert.throws(() => parseGatewayConfig({ busy: "queue" }), /gateway\.busy is not a gateway setting/);
    assert.throws(
      () => parseGatewayConfig({ busy_policy: "wait" }),
      /busy_policy must be one of queue, reject/,
    );
    assert.throws(() => parseGatewayConfig({ busy_claim_ttl: "50ms" }), /busy_claim_ttl must be from 100 ms/);
    assert.throws(() => parseGatewayConfig({ busy_max_wait: "soon" }), /gateway\.busy_max_wait/);
    assert.throws(() => parseGatewayConfig([]), /gateway must be an object/);
  });
});
