/** `holdfast serve` protects /metrics with HOLDFAST_METRICS_TOKEN (docs/observability.md). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createHoldfastApp } from "../app.ts";
import { loadServerConfig } from "../config/index.ts";

test("HOLDFAST_METRICS_TOKEN requires the bearer token on /metrics; without it the route is public", async () => {
  for (const env of [{ HOLDFAST_METRICS_TOKEN: "s3cret-metrics" }, {}]) {
    const config = await loadServerConfig({ flags: { store: "memory:", logLevel: "silent" }, env: {} });
    const holdfast = await createHoldfastApp({ config, env });
    try {
      const bare = await holdfast.app.inject({ url: "/metrics" });
      if ("HOLDFAST_METRICS_TOKEN" in env) {
        assert.equal(bare.statusCode, 401);
        assert.equal(bare.json().error.code, "unauthenticated");
        const wrong = await holdfast.app.inject({
          url: "/metrics",
          headers: { authorization: "Bearer nope" },
        });
        assert.equal(wrong.statusCode, 401);
        const ok = await holdfast.app.inject({
          url: "/metrics",
          headers: { authorization: "Bearer s3cret-metrics" },
        });
        assert.equal(ok.statusCode, 200);
        assert.match(ok.body, /holdfast_http_request_duration_seconds/);
      } else {
        assert.equal(bare.statusCode, 200);
      }
    } finally {
      await holdfast.close();
    }
  }
});
