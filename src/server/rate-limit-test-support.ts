/**
 * Test set-up for token-budget tests: a server on a memory store with one API key (tenant
 * `acme`, admin) whose requests go through a per-key tokens-per-minute limiter on `backend`, and
 * a backend that tells how many tokens its token buckets were charged.
 */
import type { FastifyInstance } from "fastify";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createSecurity } from "../security/create-security.ts";
import type { BucketSpec, RateLimitBackend } from "../security/rate-limit/backend.ts";
import { createRateLimiter } from "../security/rate-limit/limiter.ts";
import { createMemoryRateLimitBackend } from "../security/rate-limit/memory-backend.ts";
import { createStore } from "../store/create-store.ts";
import { createServer } from "./create-server.ts";

export interface RateLimitedServer {
  app: FastifyInstance;
  gateway: Gateway;
  /** The key's `authorization` and a JSON `content-type`. */
  headers: Record<string, string>;
  close(): Promise<void>;
}

export async function openRateLimitedServer(options: {
  backend: RateLimitBackend;
  tokensPerMinute: number;
  /** The providers section; none: the mock model. */
  providers?: unknown;
}): Promise<RateLimitedServer> {
  const store = await createStore("memory:");
  const security = createSecurity({ store });
  const key = await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] });
  const gateway = createGateway({
    store,
    providers: createProviderLayer(parseProvidersConfig(options.providers, {}), { env: {} }),
  });
  const limiter = createRateLimiter({
    backend: options.backend,
    perKey: { tokensPerMinute: options.tokensPerMinute },
  });
  const app = await createServer({
    store,
    gateway: { engine: gateway.engine, models: gateway.models },
    security: { security, development: false, limiter },
  });
  return {
    app,
    gateway,
    headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
    close: async () => {
      await app.close();
      await gateway.close();
      await store.close();
    },
  };
}

/** The in-process backend, keeping the net tokens taken from token buckets (takes minus refunds). */
export function countingBackend(): RateLimitBackend & { net: () => number } {
  const inner = createMemoryRateLimitBackend({ clock: () => 0 });
  let net = 0;
  const tokens = (spec: BucketSpec): boolean => spec.key.endsWith(":tpm");
  return {
    name: "counting",
    async take(specs) {
      const result = await inner.take(specs);
      if (result.ok) for (const spec of specs) if (tokens(spec)) net += spec.cost;
      return result;
    },
    async adjust(spec, delta) {
      if (tokens(spec)) net -= delta;
      await inner.adjust(spec, delta);
    },
    close: () => inner.close(),
    net: () => net,
  };
}
