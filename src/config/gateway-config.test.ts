import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseGatewayConfig } from "./gateway-config.ts";

describe("gateway config", () => {
  it("defaults to queue with a 15 s claim and a 60 s wait", () => {
    assert.deepEqual(parseGatewayConfig(undefined), {
      busyPolicy: "queue",
      busyClaimTtlMs: 15_000,
      busyMaxWaitMs: 60_000,
    });
  });

  it("reads the busy settings, durations with units", () => {
    assert.deepEqual(
      parseGatewayConfig({ busy_policy: "reject", busy_claim_ttl: "2s", busy_max_wait: 500 }),
      {
        busyPolicy: "reject",
        busyClaimTtlMs: 2_000,
        busyMaxWaitMs: 500,
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
