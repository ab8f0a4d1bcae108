/**
 * Shared set-up of the session-quota tests over HTTP: `holdfast serve`'s app on a memory store with
 * `lifecycle.defaults` (the `max_*_per_session` limits), the built-in mock model, and an `openai`
 * SDK client on it; plus `refusal`, the error a call that must be refused rejects with.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { createHoldfastApp, type HoldfastApp } from "../app.ts";
import { testServerConfig } from "../config/test-server-config.ts";

export interface QuotaApp {
  holdfast: HoldfastApp;
  client: OpenAI;
}

export async function startQuotaApp(defaults: Record<string, unknown>): Promise<QuotaApp> {
  const holdfast = await createHoldfastApp({
    config: testServerConfig({ store: "memory:", file: { lifecycle: { defaults } } }),
    env: {},
  });
  const address = await holdfast.app.listen({ port: 0, host: "127.0.0.1" });
  return { holdfast, client: new OpenAI({ baseURL: `${address}/v1`, apiKey: "unused", maxRetries: 0 }) };
}

/** The SDK error `call` rejects with; fails the test if it resolves. */
export function refusal(call: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  return call.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e as { status: number; code: string; message: string },
  );
}
