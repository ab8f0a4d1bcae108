/**
 * Auth + rate-limit overhead per request, in-process: two servers over the store and gateway of
 * the production app (`createHoldfastApp`, an API key on its store), one with the security options
 * (API keys, scopes, owner checks, per-key rate limits) and one without, both answering `GET /v1/models` through `app.inject` (no
 * sockets, so the difference is the hooks: header checks, bearer parsing, API key verification
 * with its 1 s cache, scope and owner checks, one rate-limit reservation). Rounds of the two
 * alternate so machine noise hits both alike.
 */
import { join } from "node:path";
import { createHoldfastApp } from "../../src/app.ts";
import type { ServerConfig } from "../../src/config/load-config.ts";
import { createSecurity } from "../../src/security/create-security.ts";
import { createRateLimiter } from "../../src/security/rate-limit/limiter.ts";
import { createMemoryRateLimitBackend } from "../../src/security/rate-limit/memory-backend.ts";
import { createServer } from "../../src/server/create-server.ts";
import { createStore } from "../../src/store/create-store.ts";
import { nowUs, percentile } from "../lib/stats.ts";
import { tempDir } from "./children.ts";

export interface OverheadResult {
  samples: number;
  secured: { p50: number; p99: number };
  plain: { p50: number; p99: number };
  /** secured − plain, at the same percentile (µs). */
  overhead: { p50: number; p99: number };
}

const ROUNDS = 20;
const PER_ROUND = 500;

export async function measureAuthOverhead(file: Record<string, unknown>): Promise<OverheadResult> {
  const dir = tempDir("holdfast-bench-auth-");
  const url = `sqlite:${join(dir, "auth.db")}`;
  const seed = await createStore(url);
  const { secret } = await createSecurity({ store: seed }).apiKeys.create({
    tenant: "bench",
    scopes: ["responses", "conversations:read", "conversations:write"],
  });
  await seed.close();
  const config: ServerConfig = {
    port: 0,
    host: "127.0.0.1",
    store: url,
    bodyLimit: 1 << 20,
    logLevel: "silent",
    configFile: null,
    file,
  };
  // The production wiring gives the store and gateway; both servers below share them and differ
  // only in the security options, so metrics/logging hooks the app adds are in neither.
  const holdfast = await createHoldfastApp({ config, env: {} });
  if (holdfast.mode !== "secure") throw new Error(`expected a secured app, got ${holdfast.mode}`);
  const gateway = { engine: holdfast.gateway.engine, models: holdfast.gateway.models };
  const limits = file.rate_limits as { per_key: { requests_per_minute: number; tokens_per_minute: number } };
  const limiter = createRateLimiter({
    backend: createMemoryRateLimitBackend(),
    perKey: {
      requestsPerMinute: limits.per_key.requests_per_minute,
      tokensPerMinute: limits.per_key.tokens_per_minute,
    },
  });
  const secure = await createServer({
    store: holdfast.store,
    gateway,
    security: { security: createSecurity({ store: holdfast.store }), development: false, limiter },
  });
  const plain = await createServer({ store: holdfast.store, gateway });
  try {
    await Promise.all([secure.ready(), plain.ready()]);
    const secured: number[] = [];
    const open: number[] = [];
    const headers = { authorization: `Bearer ${secret}` };
    const once = async (app: typeof plain, into: number[] | null): Promise<void> => {
      const start = nowUs();
      const res = await app.inject({ method: "GET", url: "/v1/models", headers });
      const elapsed = nowUs() - start;
      if (res.statusCode !== 200) throw new Error(`GET /v1/models answered ${res.statusCode}: ${res.body}`);
      into?.push(elapsed);
    };
    for (let i = 0; i < 500; i++) {
      await once(secure, null);
      await once(plain, null);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) await once(secure, secured);
      for (let i = 0; i < PER_ROUND; i++) await once(plain, open);
    }
    const s = { p50: percentile(secured, 50), p99: percentile(secured, 99) };
    const p = { p50: percentile(open, 50), p99: percentile(open, 99) };
    return {
      samples: secured.length,
      secured: s,
      plain: p,
      overhead: { p50: s.p50 - p.p50, p99: s.p99 - p.p99 },
    };
  } finally {
    await plain.close();
    await secure.close();
    await holdfast.close();
  }
}
