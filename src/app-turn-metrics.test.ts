/**
 * `holdfast serve` counts every turn in `holdfast_turns_total` / `holdfast_tokens_total` once:
 * stored turns from their response records, and turns that store nothing (`store: false`,
 * stateless chat) too — they used to spend unseen. A replay is not counted again.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createHoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";

test("turns are counted once each, stored or not", async () => {
  const holdfast = await createHoldfastApp({ config: testServerConfig({ store: "memory:" }), env: {} });
  try {
    const turn = async (url: string, payload: object, headers: Record<string, string> = {}) => {
      const res = await holdfast.app.inject({ method: "POST", url, payload, headers });
      assert.equal(res.statusCode, 200, res.body);
    };
    const messages = [{ role: "user", content: "Hello there" }];
    await turn("/v1/chat/completions", { model: "mock", messages });
    await turn("/v1/responses", { model: "mock", input: "Hello there", store: false });
    await turn("/v1/responses", { model: "mock", input: "Hello there" }, { "idempotency-key": "once" });
    await turn("/v1/responses", { model: "mock", input: "Hello there" }, { "idempotency-key": "once" });
    const text = (await holdfast.app.inject({ url: "/metrics" })).body;
    assert.match(text, /holdfast_turns_total\{tenant="default",model="mock"\} 3\n/);
  } finally {
    await holdfast.close();
  }
});
