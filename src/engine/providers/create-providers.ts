/**
 * Builds the provider layer from a validated configuration: one adapter (and one pooled HTTP
 * client) per provider, and the router over them. The gateway calls `router.complete` /
 * `router.openStream` with the requested model alias.
 */

import type { Pool } from "undici";
import { ANTHROPIC_VERSION, createAnthropicProvider } from "./anthropic.ts";
import { apiKeyOf, type ProviderConfig, type ProvidersConfig, resolveTargets } from "./config.ts";
import { createHttpClient, createPool, type HttpClient, type PoolStats, statsOf } from "./http.ts";
import { createMockProvider } from "./mock.ts";
import { createOpenAIChatProvider } from "./openai-chat.ts";
import { createOpenAIResponsesProvider } from "./openai-responses.ts";
import { Router } from "./router.ts";
import type { Provider } from "./types.ts";

export interface ProviderLayerOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** Wraps every adapter (metrics, traces) before the router sees it. */
  wrapProvider?: (provider: Provider) => Provider;
  /** For tests: deterministic weights and jitter. */
  random?: () => number;
}

export interface ProviderLayer {
  readonly config: ProvidersConfig;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly router: Router;
  /** Pool statistics per upstream origin (sockets connected, requests running/pending). */
  poolStats(): Record<string, PoolStats>;
  /** Closes every pool; in-flight requests are destroyed. */
  close(): Promise<void>;
}

/** Creates adapters, pools and the router. Reads API keys from the environment now (fails fast). */
export function createProviderLayer(
  config: ProvidersConfig,
  options: ProviderLayerOptions = {},
): ProviderLayer {
  const env = options.env ?? process.env;
  const wrap = options.wrapProvider ?? ((provider: Provider) => provider);
  const providers = new Map<string, Provider>();
  // One keep-alive pool per origin, shared by every provider pointing there (the first one's
  // connect timeout and size apply; headers/idle timeouts stay per provider).
  const pools = new Map<string, Pool>();
  for (const entry of config.providers) {
    if (entry.type === "mock") {
      providers.set(entry.name, wrap(createMockProvider({ name: entry.name })));
      continue;
    }
    const origin = new URL(entry.baseUrl).origin;
    let pool = pools.get(origin);
    if (!pool) {
      pool = createPool(origin, entry);
      pools.set(origin, pool);
    }
    const http = createHttpClient({
      provider: entry.name,
      baseUrl: entry.baseUrl,
      headers: { ...authHeaders(entry, apiKeyOf(entry, env)), ...entry.headers },
      timeouts: entry.timeouts,
      pool,
    });
    providers.set(entry.name, wrap(createAdapter(entry, http)));
  }
  const byName = new Map(config.providers.map((entry) => [entry.name, entry]));
  const router = new Router({
    providers,
    resolve: (model) => resolveTargets(config, model),
    retry: (name) => byName.get(name)?.retry ?? {},
    breaker: (name) => byName.get(name)?.breaker ?? {},
    ...(options.random ? { random: options.random } : {}),
  });
  return {
    config,
    providers,
    router,
    poolStats: () => Object.fromEntries([...pools].map(([origin, pool]) => [origin, statsOf(pool)])),
    async close() {
      await Promise.all([...providers.values()].map((provider) => provider.close()));
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
    },
  };
}

function createAdapter(entry: ProviderConfig, http: HttpClient): Provider {
  switch (entry.type) {
    case "openai-chat":
      return createOpenAIChatProvider({ name: entry.name, http });
    case "openai-responses":
      return createOpenAIResponsesProvider({ name: entry.name, http });
    case "anthropic":
      return createAnthropicProvider({ name: entry.name, http });
    default:
      throw new Error(`No HTTP adapter for provider type ${entry.type}.`);
  }
}

function authHeaders(entry: ProviderConfig, key: string | null): Record<string, string> {
  if (entry.type === "anthropic") {
    return { "anthropic-version": ANTHROPIC_VERSION, ...(key ? { "x-api-key": key } : {}) };
  }
  return key ? { authorization: `Bearer ${key}` } : {};
}
