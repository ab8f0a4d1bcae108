/**
 * The gateway: the turn engine bound to the provider layer (routing, retries, breakers,
 * fallback) and the model catalog (context windows, prices). A fallback to a model with a
 * smaller context window gets its input re-fitted with that model's token counter.
 */

import { type WindowCacheStats, withWindowCache } from "../store/decorators/window-cache.ts";
import type { SessionStore } from "../store/types.ts";
import { pairSafeStart } from "../store/window-pairs.ts";
import {
  type ModelInfo as CatalogModel,
  costOf,
  getDefaultCatalog,
  type ModelCatalog,
  priceUsage,
} from "./context/catalog.ts";
import { createTokenCounter } from "./context/token-counter.ts";
import { listModels, resolveTargets } from "./providers/config.ts";
import type { ProviderLayer } from "./providers/create-providers.ts";
import type { InputItem, TurnEvent, TurnRequest, Usage } from "./providers/types.ts";
import type { BusyPolicy } from "./turn/busy.ts";
import { TurnEngine, type TurnEngineOptions } from "./turn/turn-engine.ts";
import type { ModelInvoker, OnServed, ServedTarget } from "./turn/turn-types.ts";

export interface GatewayOptions {
  store: SessionStore;
  providers: ProviderLayer;
  catalog?: ModelCatalog;
  busyPolicy?: BusyPolicy;
  /** See TurnEngineOptions: the store claim's TTL and the queue's longest wait, ms. */
  busyClaimTtlMs?: number;
  busyMaxWaitMs?: number;
  /** Used for models neither the configuration nor the catalog knows. Default: a generic 128k-token model. */
  fallbackModel?: CatalogModel;
  /**
   * The turn engine's incremental window cache (store/decorators/window-cache.ts): conversation
   * windows kept parsed in process, validated by session version on every read. Default: an
   * eighth of the heap limit, 16–256 MiB (`defaultWindowCacheBytes`);
   * `false` turns it off.
   */
  windowCache?: false | { maxBytes?: number };
  /** Automatic compaction (see TurnEngineOptions.compaction); `false` turns it off. Default: on. */
  compaction?: TurnEngineOptions["compaction"];
  /** Told of every turn finished, with its usage and cost (see TurnEngineOptions.onTurn). */
  onTurn?: TurnEngineOptions["onTurn"];
  /** Told of what each turn's compaction spent on summarizer calls (see TurnEngineOptions.onCompaction). */
  onCompaction?: TurnEngineOptions["onCompaction"];
}

export interface Gateway {
  engine: TurnEngine;
  /** The window cache's live counters (hits, misses, bytes…); null when the cache is off. */
  windowCache: WindowCacheStats | null;
  /** The models `/v1/models` lists: configured routes and models, plus `mock` when it serves. */
  models(): { id: string; ownedBy: string }[];
  close(): Promise<void>;
}

/** Limits assumed for a model nobody describes: generous but common, counted with o200k. */
function unknownModel(catalog: ModelCatalog): CatalogModel {
  const base = catalog.find("gpt-4o") ?? catalog.list()[0]!;
  return {
    ...base,
    id: "unknown",
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    prices: null,
    aliases: [],
  };
}
const REFIT_RESERVE = 512;

function catalogEntry(catalog: ModelCatalog, model: string): CatalogModel | null {
  return catalog.find(model);
}

class RouterInvoker implements ModelInvoker {
  readonly #layer: ProviderLayer;
  readonly #catalog: ModelCatalog;
  readonly #fallback: CatalogModel;

  constructor(layer: ProviderLayer, catalog: ModelCatalog, fallback: CatalogModel) {
    this.#layer = layer;
    this.#catalog = catalog;
    this.#fallback = fallback;
  }

  /**
   * The catalog entry for a requested model: the alias itself, else the first target's model, else
   * a generic entry; context window and output limits from the configuration take precedence.
   */
  describe(model: string): CatalogModel {
    const configured = this.#layer.config.models[model];
    const target = resolveTargets(this.#layer.config, model)[0];
    const entry =
      catalogEntry(this.#catalog, model) ??
      (target ? catalogEntry(this.#catalog, target.model) : null) ??
      this.#fallback;
    if (!configured?.contextWindow && !configured?.maxOutputTokens) return entry;
    return {
      ...entry,
      contextWindow: configured.contextWindow ?? entry.contextWindow,
      maxOutputTokens: configured.maxOutputTokens ?? entry.maxOutputTokens,
    };
  }

  /**
   * Prices at the target that served the turn: its configured pricing (under its model name or
   * `provider/model`), else its catalog prices; only when it has neither, a pricing configured
   * for the requested name (an operator may price a route alias). Never the catalog prices of the
   * requested name: a route named after one model that fell back to another would bill the first
   * model's rates. Without a served target (a custom invoker), the requested model's prices.
   */
  cost(requested: string, usage: Usage, served?: ServedTarget): number | null {
    const tokens = {
      inputTokens: usage.input_tokens,
      cachedInputTokens: usage.cached_tokens,
      cacheWriteTokens: usage.cache_write_tokens ?? 0,
      cacheWrite1hTokens: usage.cache_write_1h_tokens ?? 0,
      outputTokens: usage.output_tokens,
    };
    const models = this.#layer.config.models;
    const names = served ? [served.model, `${served.provider}/${served.model}`] : [requested];
    for (const name of names) {
      const pricing = models[name]?.pricing;
      if (pricing) return priceUsage(pricing, tokens);
    }
    const entry = catalogEntry(this.#catalog, served?.model ?? requested);
    if (entry?.prices) return costOf(entry, tokens);
    const aliasPricing = served ? models[requested]?.pricing : undefined;
    return aliasPricing ? priceUsage(aliasPricing, tokens) : null;
  }

  /** Keeps the newest items that fit the fallback model's window, pairs whole. */
  #refit = (items: readonly InputItem[], targetModel: string): readonly InputItem[] => {
    const entry = catalogEntry(this.#catalog, targetModel);
    if (!entry) return items;
    const count = createTokenCounter(entry);
    const budget = entry.contextWindow - entry.maxOutputTokens - REFIT_RESERVE;
    let used = 0;
    let start = items.length;
    while (start > 0) {
      const tokens = count(items[start - 1] as never);
      if (used + tokens > budget) break;
      used += tokens;
      start -= 1;
    }
    const kept = items.slice(start);
    return kept.slice(pairSafeStart(kept as never));
  };

  /** The limit the turn's window reserved output tokens for (`describe`), also for a fallback's model. */
  #outputLimit = (model: string): number => this.describe(model).maxOutputTokens;

  async complete(request: TurnRequest, onServed?: OnServed) {
    const options = { refit: this.#refit, outputLimit: this.#outputLimit };
    const routed = await this.#layer.router.complete(request, options);
    onServed?.({ provider: routed.target.provider, model: routed.target.model });
    return routed.result;
  }

  async *stream(request: TurnRequest, onServed?: OnServed): AsyncGenerator<TurnEvent> {
    const options = { refit: this.#refit, outputLimit: this.#outputLimit };
    const routed = await this.#layer.router.openStream(request, options);
    onServed?.({ provider: routed.target.provider, model: routed.target.model });
    try {
      yield* routed.events;
    } finally {
      await routed.cancel();
    }
  }
}

export function createGateway(options: GatewayOptions): Gateway {
  const catalog = options.catalog ?? getDefaultCatalog();
  const invoker = new RouterInvoker(
    options.providers,
    catalog,
    options.fallbackModel ?? unknownModel(catalog),
  );
  const cache = options.windowCache;
  const cached = cache === false ? null : withWindowCache(options.store, cache ?? {});
  const engine = new TurnEngine({
    store: cached ?? options.store,
    invoker,
    busyPolicy: options.busyPolicy,
    busyClaimTtlMs: options.busyClaimTtlMs,
    busyMaxWaitMs: options.busyMaxWaitMs,
    ...(options.compaction === undefined ? {} : { compaction: options.compaction }),
    ...(options.onTurn ? { onTurn: options.onTurn } : {}),
    ...(options.onCompaction ? { onCompaction: options.onCompaction } : {}),
  });
  return {
    engine,
    windowCache: cached?.stats ?? null,
    models: () =>
      listModels(options.providers.config).map((id) => ({
        id,
        ownedBy: resolveTargets(options.providers.config, id)[0]?.provider ?? "holdfast",
      })),
    close: () => options.providers.close(),
  };
}
