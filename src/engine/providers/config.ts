/**
 * The `providers` / `models` / `routes` section of the configuration: parsed, validated with
 * messages that name the bad field, then frozen. With nothing configured, the environment
 * (OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL) supplies providers,
 * and the built-in `mock` provider always exists, so an empty config serves every model offline.
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import { breakerOptions, type CircuitBreakerOptions, DEFAULT_BREAKER } from "./circuit-breaker.ts";
import { DEFAULT_TIMEOUTS, type TimeoutOptions } from "./http.ts";
import { DEFAULT_RETRY, MAX_TIMER_MS, type RetryOptions, retryOptions } from "./retry.ts";
import type { RouteTarget } from "./router.ts";
import { PROVIDER_TYPES, type ProviderType } from "./types.ts";

export interface ProviderConfig {
  name: string;
  type: ProviderType;
  /** API root: `https://api.openai.com/v1` for OpenAI types, `https://api.anthropic.com` for Anthropic. */
  baseUrl: string;
  /** Name of the environment variable holding the API key (never the key itself). */
  apiKeyEnv: string | null;
  headers: Readonly<Record<string, string>>;
  timeouts: Readonly<TimeoutOptions>;
  maxConnections: number;
  retry: Readonly<RetryOptions>;
  breaker: Readonly<CircuitBreakerOptions>;
}

export interface ModelConfig {
  /** Context window in tokens (input + output). */
  contextWindow: number | null;
  maxOutputTokens: number | null;
  /** USD per million tokens. */
  pricing: Readonly<{ input: number; output: number; cachedInput: number }> | null;
}

export interface ProvidersConfig {
  providers: readonly ProviderConfig[];
  models: Readonly<Record<string, ModelConfig>>;
  routes: Readonly<Record<string, readonly RouteTarget[]>>;
  /** Serves models that no route names. */
  defaultProvider: string;
}

const DEFAULT_BASE_URLS: Record<ProviderType, string> = {
  "openai-chat": "https://api.openai.com/v1",
  "openai-responses": "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
  mock: "http://mock.invalid",
};

export const MOCK_PROVIDER = "mock";

// The keys each entry may hold: any other is a typo (`baseURL`, `weigth`) that would otherwise be
// dropped without a word and leave the default in place, e.g. requests sent to api.openai.com.
/** The config file's top-level sections this layer reads (docs/providers.md, "Configuration"). */
export const PROVIDER_SECTIONS = [
  "providers",
  "models",
  "routes",
  "retry",
  "breaker",
  "defaultProvider",
] as const;
const SECTION_KEYS: readonly string[] = PROVIDER_SECTIONS;
const PROVIDER_KEYS = [
  "name",
  "type",
  "baseUrl",
  "apiKeyEnv",
  "headers",
  "timeouts",
  "maxConnections",
  "retry",
  "breaker",
];
const MODEL_KEYS = ["contextWindow", "maxOutputTokens", "pricing"];
const PRICING_KEYS = ["input", "output", "cachedInput"];
const ROUTE_KEYS = ["targets"];
const TARGET_KEYS = ["provider", "model", "weight"];
const RETRY_KEYS = Object.keys(DEFAULT_RETRY);
const BREAKER_KEYS = Object.keys(DEFAULT_BREAKER);

type Env = Readonly<Record<string, string | undefined>>;

/** The sections of a whole config file that `parseProvidersConfig` reads, those the file has. */
export function providersSectionOf(file: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    PROVIDER_SECTIONS.filter((key) => file[key] !== undefined).map((key) => [key, file[key]]),
  );
}

/** Parses and validates the section; `raw` may be undefined (zero-config). */
export function parseProvidersConfig(raw: unknown, env: Env = process.env): ProvidersConfig {
  const section = raw === undefined || raw === null ? {} : object(raw, "providers config", SECTION_KEYS);
  const defaults = {
    retry: section.retry === undefined ? undefined : object(section.retry, "retry", RETRY_KEYS),
    breaker: section.breaker === undefined ? undefined : object(section.breaker, "breaker", BREAKER_KEYS),
  };
  const listed = section.providers === undefined ? [] : array(section.providers, "providers");
  const providers =
    listed.length > 0
      ? listed.map((entry, i) => provider(entry, `providers[${i}]`, defaults, env))
      : fromEnv(env, defaults);
  const names = new Set<string>();
  for (const [i, entry] of providers.entries()) {
    if (names.has(entry.name)) fail(`providers[${i}].name`, `duplicates the provider name '${entry.name}'`);
    names.add(entry.name);
  }
  if (!names.has(MOCK_PROVIDER))
    providers.push(provider({ name: MOCK_PROVIDER, type: "mock" }, "mock", defaults, env));

  const models: Record<string, ModelConfig> = {};
  const rawModels = section.models === undefined ? {} : object(section.models, "models");
  for (const [name, value] of Object.entries(rawModels)) models[name] = model(value, `models.${name}`);

  const routes: Record<string, readonly RouteTarget[]> = {};
  const rawRoutes = section.routes === undefined ? {} : object(section.routes, "routes");
  for (const [alias, value] of Object.entries(rawRoutes)) {
    const list = Array.isArray(value)
      ? value
      : array(object(value, `routes.${alias}`, ROUTE_KEYS).targets, `routes.${alias}.targets`);
    if (list.length === 0) fail(`routes.${alias}`, "needs at least one target");
    routes[alias] = Object.freeze(
      list.map((target, i) => routeTarget(target, `routes.${alias}[${i}]`, names)),
    );
  }

  const configured = providers.find((entry) => entry.name !== MOCK_PROVIDER)?.name ?? MOCK_PROVIDER;
  const defaultProvider =
    section.defaultProvider === undefined ? configured : string(section.defaultProvider, "defaultProvider");
  if (!names.has(defaultProvider) && defaultProvider !== MOCK_PROVIDER) {
    fail("defaultProvider", `names '${defaultProvider}', which is not a configured provider`);
  }
  return Object.freeze({
    providers: Object.freeze(providers.map((entry) => Object.freeze(entry))),
    models: Object.freeze(models),
    routes: Object.freeze(routes),
    defaultProvider,
  });
}

/**
 * The ordered targets for a requested model: a route alias, `provider/model`, a `claude-*` model
 * when an Anthropic provider exists, `mock`, else the default provider with the model as named.
 */
export function resolveTargets(config: ProvidersConfig, model: string): readonly RouteTarget[] {
  const route = config.routes[model];
  if (route) return route;
  const slash = model.indexOf("/");
  if (slash > 0) {
    const name = model.slice(0, slash);
    if (config.providers.some((entry) => entry.name === name))
      return [{ provider: name, model: model.slice(slash + 1) }];
  }
  if (model === MOCK_PROVIDER) return [{ provider: MOCK_PROVIDER, model }];
  if (model.startsWith("claude")) {
    const anthropic = config.providers.find((entry) => entry.type === "anthropic");
    if (anthropic) return [{ provider: anthropic.name, model }];
  }
  return [{ provider: config.defaultProvider, model }];
}

/** Model ids to list on `/v1/models`: route aliases, catalog models and `mock`, sorted. */
export function listModels(config: ProvidersConfig): string[] {
  return [...new Set([...Object.keys(config.routes), ...Object.keys(config.models), MOCK_PROVIDER])].sort();
}

/**
 * Reads a provider's API key from its env variable, without surrounding whitespace (a key pasted
 * from a file or a secret store often ends in a newline); throws naming the variable when unset
 * or when the key could not be sent in a header, rather than failing every request later.
 */
export function apiKeyOf(config: ProviderConfig, env: Env = process.env): string | null {
  if (config.apiKeyEnv === null) return null;
  const key = env[config.apiKeyEnv]?.trim();
  if (key === undefined || key === "") {
    fail(
      `providers.${config.name}.apiKeyEnv`,
      `names ${config.apiKeyEnv}, which is not set in the environment`,
    );
  }
  // Header values are visible ASCII and spaces: anything else (a line break, a tab inside, a
  // character from a copied document) makes every upstream request fail before it is sent.
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(key)) {
    fail(
      config.apiKeyEnv,
      "holds characters an HTTP header cannot carry (a line break, a control or non-ASCII character); set it to the key alone",
    );
  }
  return key;
}

function fromEnv(env: Env, defaults: Defaults): ProviderConfig[] {
  const providers: ProviderConfig[] = [];
  if (env.OPENAI_API_KEY?.trim() || env.OPENAI_BASE_URL?.trim()) {
    const baseUrl = envUrl(env, "OPENAI_BASE_URL", DEFAULT_BASE_URLS["openai-responses"]);
    // OpenAI itself speaks the Responses API; compatible servers (Ollama, vLLM, Groq…) only Chat Completions.
    const type = new URL(baseUrl).hostname === "api.openai.com" ? "openai-responses" : "openai-chat";
    providers.push(
      provider(
        {
          name: "openai",
          type,
          baseUrl,
          ...(env.OPENAI_API_KEY?.trim() ? { apiKeyEnv: "OPENAI_API_KEY" } : {}),
        },
        "OPENAI_BASE_URL",
        defaults,
        env,
      ),
    );
  }
  if (env.ANTHROPIC_API_KEY?.trim()) {
    const baseUrl = envUrl(env, "ANTHROPIC_BASE_URL", DEFAULT_BASE_URLS.anthropic);
    providers.push(
      provider(
        { name: "anthropic", type: "anthropic", baseUrl, apiKeyEnv: "ANTHROPIC_API_KEY" },
        "ANTHROPIC_BASE_URL",
        defaults,
        env,
      ),
    );
  }
  return providers;
}

/** A base URL from the environment, trimmed (a pasted value often ends in a newline), else `fallback`. */
function envUrl(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  if (!value) return fallback;
  if (!isHttpUrl(value)) {
    fail(name, `must be an http(s) URL such as http://localhost:11434/v1; got '${value.slice(0, 200)}'`);
  }
  const problem = baseUrlProblem(value);
  if (problem !== null) fail(name, problem);
  return value;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * What a base URL holds that requests would silently lose: only its origin and path are used,
 * so a query string (`?api-version=…`), a fragment or `user:pass@` credentials never reach the
 * upstream. Refused at start-up rather than failing (or sending no credentials) at request time.
 */
function baseUrlProblem(value: string): string | null {
  const url = new URL(value);
  if (url.username !== "" || url.password !== "")
    return "must not carry credentials (user:pass@); put the key in the variable apiKeyEnv names, or extra headers in headers";
  if (url.search !== "" || value.includes("?"))
    return "must not carry a query string (it would be dropped from every request); use headers for extra settings";
  if (url.hash !== "" || value.includes("#")) return "must not carry a fragment (#…)";
  return null;
}

/**
 * Anthropic's root without a trailing `/v1`: the adapter posts to `{baseUrl}/v1/messages`, as the
 * Anthropic SDKs do with ANTHROPIC_BASE_URL, but many users copy the OpenAI convention of a base
 * URL ending in `/v1`; both forms mean the same root (else every request went to `/v1/v1/messages`).
 */
function anthropicRoot(value: string): string {
  return value.replace(/\/+$/, "").replace(/\/v1$/, "");
}

interface Defaults {
  retry: Record<string, unknown> | undefined;
  breaker: Record<string, unknown> | undefined;
}

function provider(raw: unknown, where: string, defaults: Defaults, _env: Env): ProviderConfig {
  const entry = object(raw, where, PROVIDER_KEYS);
  const name = string(entry.name, `${where}.name`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    fail(`${where}.name`, "must be 1-64 letters, digits, '_', '.' or '-'");
  const type = string(entry.type, `${where}.type`);
  if (!(PROVIDER_TYPES as readonly string[]).includes(type))
    fail(`${where}.type`, `must be one of ${PROVIDER_TYPES.join(", ")}; got '${type}'`);
  const providerType = type as ProviderType;
  const givenUrl =
    entry.baseUrl === undefined ? DEFAULT_BASE_URLS[providerType] : string(entry.baseUrl, `${where}.baseUrl`);
  if (!isHttpUrl(givenUrl)) fail(`${where}.baseUrl`, `must be an http(s) URL; got '${givenUrl}'`);
  const problem = baseUrlProblem(givenUrl);
  if (problem !== null) fail(`${where}.baseUrl`, problem);
  const baseUrl = providerType === "anthropic" ? anthropicRoot(givenUrl) : givenUrl;
  const apiKeyEnv = entry.apiKeyEnv === undefined ? null : string(entry.apiKeyEnv, `${where}.apiKeyEnv`);
  if (apiKeyEnv !== null && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv)) {
    fail(
      `${where}.apiKeyEnv`,
      "must be the name of an environment variable (the key itself never goes in the config)",
    );
  }
  const headers: Record<string, string> = {};
  if (entry.headers !== undefined) {
    for (const [key, value] of Object.entries(object(entry.headers, `${where}.headers`)))
      headers[key] = string(value, `${where}.headers.${key}`);
  }
  const timeouts = { ...DEFAULT_TIMEOUTS };
  if (entry.timeouts !== undefined) {
    const given = object(entry.timeouts, `${where}.timeouts`);
    for (const [key, value] of Object.entries(given)) {
      if (!(key in DEFAULT_TIMEOUTS))
        fail(`${where}.timeouts.${key}`, `is not a timeout; use ${Object.keys(DEFAULT_TIMEOUTS).join(", ")}`);
      const ms = positiveInt(value, `${where}.timeouts.${key}`);
      if (ms > MAX_TIMER_MS)
        fail(`${where}.timeouts.${key}`, `must be at most ${MAX_TIMER_MS} ms (about 24 days); got ${ms}`);
      timeouts[key as keyof TimeoutOptions] = ms;
    }
  }
  const maxConnections =
    entry.maxConnections === undefined ? 256 : positiveInt(entry.maxConnections, `${where}.maxConnections`);
  const retry = retryOptions(
    {
      ...defaults.retry,
      ...(entry.retry === undefined ? {} : object(entry.retry, `${where}.retry`, RETRY_KEYS)),
    },
    `${where}.retry`,
  );
  const breaker = breakerOptions(
    {
      ...defaults.breaker,
      ...(entry.breaker === undefined ? {} : object(entry.breaker, `${where}.breaker`, BREAKER_KEYS)),
    },
    `${where}.breaker`,
  );
  return {
    name,
    type: providerType,
    baseUrl,
    apiKeyEnv,
    headers: Object.freeze(headers),
    timeouts: Object.freeze(timeouts),
    maxConnections,
    retry,
    breaker,
  };
}

/**
 * The most tokens a model setting may name: far above any real context window, and small enough
 * that budgets computed from it stay exact integers (1e300 passed as an "integer" before).
 */
export const MAX_MODEL_TOKENS = 2 ** 31 - 1;

function model(raw: unknown, where: string): ModelConfig {
  const entry = object(raw, where, MODEL_KEYS);
  const contextWindow =
    entry.contextWindow === undefined ? null : tokenCount(entry.contextWindow, `${where}.contextWindow`);
  const maxOutputTokens =
    entry.maxOutputTokens === undefined
      ? null
      : tokenCount(entry.maxOutputTokens, `${where}.maxOutputTokens`);
  let pricing: ModelConfig["pricing"] = null;
  if (entry.pricing !== undefined) {
    const price = object(entry.pricing, `${where}.pricing`, PRICING_KEYS);
    const input = nonNegative(price.input, `${where}.pricing.input`);
    const output = nonNegative(price.output, `${where}.pricing.output`);
    const cachedInput =
      price.cachedInput === undefined
        ? input
        : nonNegative(price.cachedInput, `${where}.pricing.cachedInput`);
    pricing = Object.freeze({ input, output, cachedInput });
  }
  return Object.freeze({ contextWindow, maxOutputTokens, pricing });
}

function routeTarget(raw: unknown, where: string, providers: Set<string>): RouteTarget {
  const entry = object(raw, where, TARGET_KEYS);
  const name = string(entry.provider, `${where}.provider`);
  if (!providers.has(name) && name !== MOCK_PROVIDER)
    fail(`${where}.provider`, `names '${name}', which is not a configured provider`);
  const target: RouteTarget = { provider: name, model: string(entry.model, `${where}.model`) };
  if (entry.weight !== undefined) {
    const weight = entry.weight;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight <= 0)
      fail(`${where}.weight`, "must be a positive number");
    target.weight = weight;
  }
  return Object.freeze(target);
}

function fail(param: string, what: string): never {
  throw new InvalidArgumentError(`Invalid configuration: ${param} ${what}.`, { param });
}

/** `value` as an object; with `keys`, a key outside them fails naming it and the known ones. */
function object(value: unknown, where: string, keys?: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(where, "must be an object");
  const unknown = keys ? Object.keys(value).find((key) => !keys.includes(key)) : undefined;
  if (keys && unknown !== undefined)
    fail(`${where}.${unknown}`, `is not a known setting; use ${keys.join(", ")}`);
  return value as Record<string, unknown>;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(where, "must be an array");
  return value;
}

function string(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") fail(where, "must be a non-empty string");
  return value;
}

function positiveInt(value: unknown, where: string): number {
  if (!Number.isInteger(value) || (value as number) <= 0)
    fail(where, `must be a positive integer; got ${JSON.stringify(value)}`);
  return value as number;
}

function tokenCount(value: unknown, where: string): number {
  const count = positiveInt(value, where);
  if (count > MAX_MODEL_TOKENS) fail(where, `must be at most ${MAX_MODEL_TOKENS} tokens; got ${count}`);
  return count;
}

function nonNegative(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    fail(where, `must be a number >= 0; got ${JSON.stringify(value)}`);
  return value;
}
