/**
 * The `providers` / `models` / `routes` section of the configuration: parsed, validated with
 * messages that name the bad field, then frozen; and the lookups the gateway makes on it. With
 * nothing configured, the environment (env-providers.ts) supplies providers, and the built-in
 * `mock` provider always exists, so an empty config serves every model offline.
 */
import { PROVIDER_SECTIONS } from "../../config/sections.ts";
import { failConfig, readArray, readObject, readString } from "./config-fields.ts";
import { type Env, providersFromEnv } from "./env-providers.ts";
import { type ModelConfig, parseModels, parseRoutes } from "./models-routes.ts";
import {
  BREAKER_KEYS,
  MOCK_PROVIDER,
  type ProviderConfig,
  parseProviderEntry,
  RETRY_KEYS,
} from "./provider-entry.ts";
import type { RouteTarget } from "./router.ts";

export { apiKeyOf } from "./env-providers.ts";
export { MAX_MODEL_TOKENS, type ModelConfig } from "./models-routes.ts";
export { MOCK_PROVIDER, type ProviderConfig } from "./provider-entry.ts";

export interface ProvidersConfig {
  providers: readonly ProviderConfig[];
  models: Readonly<Record<string, ModelConfig>>;
  routes: Readonly<Record<string, readonly RouteTarget[]>>;
  /** Serves models that no route names. */
  defaultProvider: string;
}

const SECTION_KEYS: readonly string[] = PROVIDER_SECTIONS;

/** The sections of a whole config file that `parseProvidersConfig` reads, those the file has. */
export function providersSectionOf(file: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    PROVIDER_SECTIONS.filter((key) => file[key] !== undefined).map((key) => [key, file[key]]),
  );
}

/** Parses and validates the section; `raw` may be undefined (zero-config). */
export function parseProvidersConfig(raw: unknown, env: Env = process.env): ProvidersConfig {
  const section = raw === undefined || raw === null ? {} : readObject(raw, "providers config", SECTION_KEYS);
  const defaults = {
    retry: section.retry === undefined ? undefined : readObject(section.retry, "retry", RETRY_KEYS),
    breaker: section.breaker === undefined ? undefined : readObject(section.breaker, "breaker", BREAKER_KEYS),
  };
  const listed = section.providers === undefined ? [] : readArray(section.providers, "providers");
  const providers =
    listed.length > 0
      ? listed.map((entry, i) => parseProviderEntry(entry, `providers[${i}]`, defaults))
      : providersFromEnv(env, defaults);
  const names = new Set<string>();
  for (const [i, entry] of providers.entries()) {
    if (names.has(entry.name))
      failConfig(`providers[${i}].name`, `duplicates the provider name '${entry.name}'`);
    names.add(entry.name);
  }
  if (!names.has(MOCK_PROVIDER))
    providers.push(parseProviderEntry({ name: MOCK_PROVIDER, type: "mock" }, "mock", defaults));

  const models = parseModels(section.models);
  const routes = parseRoutes(section.routes, names);

  const configured = providers.find((entry) => entry.name !== MOCK_PROVIDER)?.name ?? MOCK_PROVIDER;
  const defaultProvider =
    section.defaultProvider === undefined
      ? configured
      : readString(section.defaultProvider, "defaultProvider");
  if (!names.has(defaultProvider) && defaultProvider !== MOCK_PROVIDER) {
    failConfig("defaultProvider", `names '${defaultProvider}', which is not a configured provider`);
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
