/**
 * The config's `models` catalog (context window, output limit, pricing per model) and `routes`
 * (an alias served by weighted provider/model targets, tried in order).
 */
import {
  failConfig,
  readArray,
  readNonNegative,
  readObject,
  readPositiveInt,
  readString,
} from "./config-fields.ts";
import { MOCK_PROVIDER } from "./provider-entry.ts";
import type { RouteTarget } from "./router.ts";

export interface ModelConfig {
  /** Context window in tokens (input + output). */
  contextWindow: number | null;
  maxOutputTokens: number | null;
  /** USD per million tokens. */
  pricing: Readonly<{
    input: number;
    output: number;
    cachedInput: number;
    cacheWrite: number;
    cacheWrite1h: number;
  }> | null;
}

/**
 * The most tokens a model setting may name: far above any real context window, and small enough
 * that budgets computed from it stay exact integers (1e300 passed as an "integer" before).
 */
export const MAX_MODEL_TOKENS = 2 ** 31 - 1;

const MODEL_KEYS = ["contextWindow", "maxOutputTokens", "pricing"];
const PRICING_KEYS = ["input", "output", "cachedInput", "cacheWrite", "cacheWrite1h"];
const ROUTE_KEYS = ["targets"];
const TARGET_KEYS = ["provider", "model", "weight"];

/** The `models` section by model id; `raw` undefined means an empty catalog. */
export function parseModels(raw: unknown): Record<string, ModelConfig> {
  const models: Record<string, ModelConfig> = {};
  const given = raw === undefined ? {} : readObject(raw, "models");
  for (const [name, value] of Object.entries(given)) models[name] = parseModel(value, `models.${name}`);
  return models;
}

/**
 * The `routes` section by alias: each a list of targets, or `{ targets: [...] }`, whose providers
 * are among `providers` (or the mock); `raw` undefined means no routes.
 */
export function parseRoutes(raw: unknown, providers: Set<string>): Record<string, readonly RouteTarget[]> {
  const routes: Record<string, readonly RouteTarget[]> = {};
  const given = raw === undefined ? {} : readObject(raw, "routes");
  for (const [alias, value] of Object.entries(given)) {
    const list = Array.isArray(value)
      ? value
      : readArray(readObject(value, `routes.${alias}`, ROUTE_KEYS).targets, `routes.${alias}.targets`);
    if (list.length === 0) failConfig(`routes.${alias}`, "needs at least one target");
    routes[alias] = Object.freeze(
      list.map((target, i) => parseRouteTarget(target, `routes.${alias}[${i}]`, providers)),
    );
  }
  return routes;
}

function parseModel(raw: unknown, where: string): ModelConfig {
  const entry = readObject(raw, where, MODEL_KEYS);
  const contextWindow =
    entry.contextWindow === undefined ? null : tokenCount(entry.contextWindow, `${where}.contextWindow`);
  const maxOutputTokens =
    entry.maxOutputTokens === undefined
      ? null
      : tokenCount(entry.maxOutputTokens, `${where}.maxOutputTokens`);
  let pricing: ModelConfig["pricing"] = null;
  if (entry.pricing !== undefined) {
    const price = readObject(entry.pricing, `${where}.pricing`, PRICING_KEYS);
    const input = readNonNegative(price.input, `${where}.pricing.input`);
    const output = readNonNegative(price.output, `${where}.pricing.output`);
    const cachedInput =
      price.cachedInput === undefined
        ? input
        : readNonNegative(price.cachedInput, `${where}.pricing.cachedInput`);
    const cacheWrite =
      price.cacheWrite === undefined
        ? input
        : readNonNegative(price.cacheWrite, `${where}.pricing.cacheWrite`);
    // Anthropic's 1-hour writes cost 2x input; only Anthropic reports them apart.
    const cacheWrite1h =
      price.cacheWrite1h === undefined
        ? 2 * input
        : readNonNegative(price.cacheWrite1h, `${where}.pricing.cacheWrite1h`);
    pricing = Object.freeze({ input, output, cachedInput, cacheWrite, cacheWrite1h });
  }
  return Object.freeze({ contextWindow, maxOutputTokens, pricing });
}

function parseRouteTarget(raw: unknown, where: string, providers: Set<string>): RouteTarget {
  const entry = readObject(raw, where, TARGET_KEYS);
  const name = readString(entry.provider, `${where}.provider`);
  if (!providers.has(name) && name !== MOCK_PROVIDER)
    failConfig(`${where}.provider`, `names '${name}', which is not a configured provider`);
  const target: RouteTarget = { provider: name, model: readString(entry.model, `${where}.model`) };
  if (entry.weight !== undefined) {
    const weight = entry.weight;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight <= 0)
      failConfig(`${where}.weight`, "must be a positive number");
    target.weight = weight;
  }
  return Object.freeze(target);
}

function tokenCount(value: unknown, where: string): number {
  const count = readPositiveInt(value, where);
  if (count > MAX_MODEL_TOKENS) failConfig(where, `must be at most ${MAX_MODEL_TOKENS} tokens; got ${count}`);
  return count;
}
