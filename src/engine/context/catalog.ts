/**
 * The model catalog: id → provider, context window, output limit, tokenizer and prices, shipped
 * as data (catalog/models.json) and extendable by configuration. Lookups accept aliases,
 * `provider/model` prefixes and dated snapshots (`gpt-4o-2024-05-13` → `gpt-4o`).
 */
import { InvalidArgumentError, NotFoundError } from "../../store/errors.ts";
import { IMAGE_FAMILIES, type ImageFamily } from "../../store/media-tokens.ts";
import data from "./catalog/models.json" with { type: "json" };
import { TOKENIZERS, type TokenizerName } from "./tokenizers.ts";

/**
 * USD per 1M tokens. `cachedInput` is null when the provider has no cached-input price;
 * `cacheWrite` (input written to the prompt cache, Anthropic's 1.25x of input for the default
 * 5-minute cache) is null when the provider does not charge writes apart: priced as `input`.
 * `cacheWrite1h` prices writes to Anthropic's 1-hour cache; null or absent means 2x `input`,
 * Anthropic's 1-hour multiplier (only Anthropic reports 1-hour writes).
 */
export interface ModelPrices {
  input: number;
  cachedInput: number | null;
  cacheWrite?: number | null;
  cacheWrite1h?: number | null;
  output: number;
}

/** One resolved catalog entry (frozen). */
export interface ModelInfo {
  id: string;
  provider: string;
  /** Total tokens (input + output) the model accepts. */
  contextWindow: number;
  maxOutputTokens: number;
  /** A separate input limit some models have (gpt-5: 272k of a 400k window); null otherwise. */
  maxInputTokens: number | null;
  tokenizer: TokenizerName;
  /** Scale applied to the calibrated estimate (tokens relative to o200k); 1 for exact tokenizers. */
  tokenFactor: number;
  /** Null when the price depends on the host (open-weight models): configure it. */
  prices: ModelPrices | null;
  aliases: readonly string[];
  /** Which image token rule applies. */
  imageFamily: ImageFamily;
  /** Tokens added per item for role/format framing. */
  itemOverhead: number;
  /** The provider requires user/assistant alternation (Anthropic). */
  alternation: boolean;
  /** Role a summary is sent as: `developer` where supported, else `user`. */
  summaryRole: "developer" | "user";
}

/** What configuration may give for a model: everything optional on an existing id. */
export type ModelOverride = Partial<Omit<ModelInfo, "id">> & { id?: string };

interface ProviderDefaults {
  imageFamily: ImageFamily;
  itemOverhead: number;
  alternation: boolean;
  summaryRole: "developer" | "user";
}

const OPENAI_DEFAULTS: ProviderDefaults = {
  imageFamily: "openai",
  itemOverhead: 4,
  alternation: false,
  summaryRole: "developer",
};
const PROVIDER_DEFAULTS: Record<string, ProviderDefaults> = {
  openai: OPENAI_DEFAULTS,
  anthropic: { imageFamily: "anthropic", itemOverhead: 5, alternation: true, summaryRole: "user" },
  google: { imageFamily: "google", itemOverhead: 5, alternation: false, summaryRole: "user" },
};
const OPEN_WEIGHT_DEFAULTS: ProviderDefaults = { ...OPENAI_DEFAULTS, itemOverhead: 5, summaryRole: "user" };

/** The date the shipped prices were taken. */
export const CATALOG_PRICES_DATE: string = data.pricesTakenAt;

function fail(field: string, message: string): never {
  throw new InvalidArgumentError(`${field} ${message}`, { param: field });
}

function positiveInt(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) fail(field, "must be a positive integer.");
  return value as number;
}

function price(value: unknown, field: string, nullable: boolean): number | null {
  if (value === null && nullable) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    fail(field, `must be a non-negative number of USD per 1M tokens${nullable ? " or null" : ""}.`);
  }
  return value;
}

/** Validates a raw entry (shipped or configured) into a frozen ModelInfo; messages name the field. */
export function validateModel(raw: unknown, path: string): ModelInfo {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(path, "must be an object.");
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== "string" || r.id.length === 0) fail(`${path}.id`, "must be a non-empty string.");
  if (typeof r.provider !== "string" || r.provider.length === 0) {
    fail(`${path}.provider`, 'must be a non-empty string (e.g. "openai", "anthropic").');
  }
  const defaults = PROVIDER_DEFAULTS[r.provider] ?? OPEN_WEIGHT_DEFAULTS;
  const contextWindow = positiveInt(r.contextWindow, `${path}.contextWindow`);
  const maxOutputTokens = positiveInt(r.maxOutputTokens, `${path}.maxOutputTokens`);
  if (maxOutputTokens > contextWindow) fail(`${path}.maxOutputTokens`, "must not exceed contextWindow.");
  const maxInputTokens =
    r.maxInputTokens === undefined || r.maxInputTokens === null
      ? null
      : positiveInt(r.maxInputTokens, `${path}.maxInputTokens`);
  if (!TOKENIZERS.includes(r.tokenizer as TokenizerName)) {
    fail(`${path}.tokenizer`, `must be one of ${TOKENIZERS.join(", ")}.`);
  }
  const tokenFactor = r.tokenFactor ?? 1;
  if (typeof tokenFactor !== "number" || !(tokenFactor >= 0.5 && tokenFactor <= 3)) {
    fail(`${path}.tokenFactor`, "must be a number between 0.5 and 3.");
  }
  let prices: ModelPrices | null = null;
  if (r.prices !== null && r.prices !== undefined) {
    if (typeof r.prices !== "object") fail(`${path}.prices`, "must be an object or null.");
    const p = r.prices as Record<string, unknown>;
    prices = Object.freeze({
      input: price(p.input, `${path}.prices.input`, false) as number,
      cachedInput: price(p.cachedInput ?? null, `${path}.prices.cachedInput`, true),
      cacheWrite: price(p.cacheWrite ?? null, `${path}.prices.cacheWrite`, true),
      cacheWrite1h: price(p.cacheWrite1h ?? null, `${path}.prices.cacheWrite1h`, true),
      output: price(p.output, `${path}.prices.output`, false) as number,
    });
  }
  const aliases = r.aliases ?? [];
  if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== "string" || a.length === 0)) {
    fail(`${path}.aliases`, "must be an array of non-empty strings.");
  }
  const imageFamily = r.imageFamily ?? defaults.imageFamily;
  if (!IMAGE_FAMILIES.includes(imageFamily as ImageFamily)) {
    fail(`${path}.imageFamily`, `must be one of ${IMAGE_FAMILIES.join(", ")}.`);
  }
  const itemOverhead = r.itemOverhead ?? defaults.itemOverhead;
  if (!Number.isSafeInteger(itemOverhead) || (itemOverhead as number) < 0) {
    fail(`${path}.itemOverhead`, "must be a non-negative integer.");
  }
  const alternation = r.alternation ?? defaults.alternation;
  if (typeof alternation !== "boolean") fail(`${path}.alternation`, "must be a boolean.");
  const summaryRole = r.summaryRole ?? defaults.summaryRole;
  if (summaryRole !== "developer" && summaryRole !== "user") {
    fail(`${path}.summaryRole`, 'must be "developer" or "user".');
  }
  return Object.freeze({
    id: r.id,
    provider: r.provider,
    contextWindow,
    maxOutputTokens,
    maxInputTokens,
    tokenizer: r.tokenizer as TokenizerName,
    tokenFactor: r.tokenizer === "estimate" ? tokenFactor : 1,
    prices,
    aliases: Object.freeze([...(aliases as string[])]),
    imageFamily: imageFamily as ImageFamily,
    itemOverhead: itemOverhead as number,
    alternation,
    summaryRole,
  });
}

/** A model lookup table. */
export interface ModelCatalog {
  /** The entry for an id or alias; throws `not_found` naming the id when unknown. */
  get(id: string): ModelInfo;
  /** The entry for an id or alias, or null. */
  find(id: string): ModelInfo | null;
  list(): readonly ModelInfo[];
}

export interface ModelCatalogOptions {
  /**
   * Config overrides keyed by model id: a known id is merged field by field (e.g. a host's
   * price for an open-weight model); an unknown id adds a model and needs every required field.
   */
  models?: Record<string, ModelOverride>;
  /** Start from an empty catalog instead of the shipped one. Default false. */
  replace?: boolean;
}

const DATE_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$/;

class Catalog implements ModelCatalog {
  readonly #byName = new Map<string, ModelInfo>();
  readonly #models: readonly ModelInfo[];

  constructor(models: ModelInfo[]) {
    this.#models = Object.freeze(models);
    for (const model of models) {
      for (const name of [model.id, ...model.aliases]) this.#byName.set(name.toLowerCase(), model);
    }
  }

  find(id: string): ModelInfo | null {
    if (typeof id !== "string") return null;
    const name = id.toLowerCase();
    const direct = this.#byName.get(name);
    if (direct) return direct;
    const slash = name.lastIndexOf("/");
    if (slash >= 0) {
      const bare = this.#byName.get(name.slice(slash + 1));
      if (bare) return bare;
    }
    const undated = name.replace(DATE_SUFFIX, "");
    return undated !== name ? (this.find(undated) ?? null) : null;
  }

  get(id: string): ModelInfo {
    const model = this.find(id);
    if (!model) {
      throw new NotFoundError(
        `Unknown model '${id}': add it to the model catalog (models.<id> with provider, contextWindow, maxOutputTokens, tokenizer, prices).`,
        { param: "model" },
      );
    }
    return model;
  }

  list(): readonly ModelInfo[] {
    return this.#models;
  }
}

/** Builds a catalog from the shipped data merged with validated overrides. */
export function createModelCatalog(options: ModelCatalogOptions = {}): ModelCatalog {
  const shipped = options.replace ? [] : data.models.map((m, i) => validateModel(m, `catalog[${i}]`));
  const byId = new Map(shipped.map((m) => [m.id, m]));
  const overrides = options.models ?? {};
  if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
    fail("models", "must be an object keyed by model id.");
  }
  for (const [id, override] of Object.entries(overrides)) {
    const path = `models.${id}`;
    if (typeof override !== "object" || override === null) fail(path, "must be an object.");
    const base = byId.get(id);
    const merged = { ...(base ?? {}), ...override, id };
    if (base && override.prices && base.prices) merged.prices = { ...base.prices, ...override.prices };
    byId.set(id, validateModel(merged, path));
  }
  return new Catalog([...byId.values()]);
}

let defaultCatalog: ModelCatalog | undefined;

/** The shipped catalog (built once). */
export function getDefaultCatalog(): ModelCatalog {
  defaultCatalog ??= createModelCatalog();
  return defaultCatalog;
}

/** Resolves a model given as an id (shipped catalog or `catalog`) or as an entry. */
export function resolveModel(model: string | ModelInfo, catalog?: ModelCatalog): ModelInfo {
  if (typeof model !== "string") return model;
  return (catalog ?? getDefaultCatalog()).get(model);
}

/** Token counts as the cost functions take them (see `priceUsage`). */
export interface PricedUsage {
  inputTokens: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  /** The part of `cacheWriteTokens` written to a 1-hour cache. */
  cacheWrite1hTokens?: number;
  outputTokens: number;
}

/** Anthropic's price of a 1-hour cache write, as a multiple of input (5-minute writes: 1.25). */
export const CACHE_WRITE_1H_FACTOR = 2;

/** Cost in USD of a usage record under a model's prices (0 when prices are unknown). */
export function costOf(model: ModelInfo, usage: PricedUsage): number {
  const p = model.prices;
  if (!p) return 0;
  return priceUsage(
    {
      input: p.input,
      cachedInput: p.cachedInput ?? p.input,
      cacheWrite: p.cacheWrite ?? p.input,
      cacheWrite1h: p.cacheWrite1h ?? CACHE_WRITE_1H_FACTOR * p.input,
      output: p.output,
    },
    usage,
  );
}

/**
 * USD of a usage under per-1M prices. `inputTokens` includes the cached and cache-write tokens
 * (OpenAI semantics), each priced at its own rate; the rest at `input`. Of the cache writes, the
 * 1-hour ones are priced at `cacheWrite1h`, the others (5-minute) at `cacheWrite`.
 */
export function priceUsage(
  prices: { input: number; cachedInput: number; cacheWrite: number; cacheWrite1h: number; output: number },
  usage: PricedUsage,
): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const written = Math.min(usage.cacheWriteTokens ?? 0, usage.inputTokens - cached);
  const writtenHour = Math.min(usage.cacheWrite1hTokens ?? 0, written);
  return (
    ((usage.inputTokens - cached - written) * prices.input +
      cached * prices.cachedInput +
      (written - writtenHour) * prices.cacheWrite +
      writtenHour * prices.cacheWrite1h +
      usage.outputTokens * prices.output) /
    1_000_000
  );
}
