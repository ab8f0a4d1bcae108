/**
 * One entry of the config's `providers` list (or one the environment implies): parsed into a
 * ProviderConfig, its own `retry` / `breaker` settings over the section-wide ones.
 */
import { anthropicRoot, baseUrlProblem, DEFAULT_BASE_URLS, isHttpUrl } from "./base-url.ts";
import { breakerOptions, type CircuitBreakerOptions, DEFAULT_BREAKER } from "./circuit-breaker.ts";
import { failConfig, readObject, readPositiveInt, readString } from "./config-fields.ts";
import { DEFAULT_TIMEOUTS, type TimeoutOptions } from "./http.ts";
import { DEFAULT_RETRY, MAX_TIMER_MS, type RetryOptions, retryOptions } from "./retry.ts";
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

/** The built-in offline provider, always configured. */
export const MOCK_PROVIDER = "mock";

export const RETRY_KEYS = Object.keys(DEFAULT_RETRY);
export const BREAKER_KEYS = Object.keys(DEFAULT_BREAKER);
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

/** The section-wide `retry` / `breaker` settings; each provider's own override them key by key. */
export interface ProviderDefaults {
  retry: Record<string, unknown> | undefined;
  breaker: Record<string, unknown> | undefined;
}

export function parseProviderEntry(raw: unknown, where: string, defaults: ProviderDefaults): ProviderConfig {
  const entry = readObject(raw, where, PROVIDER_KEYS);
  const name = readString(entry.name, `${where}.name`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    failConfig(`${where}.name`, "must be 1-64 letters, digits, '_', '.' or '-'");
  const type = readString(entry.type, `${where}.type`);
  if (!(PROVIDER_TYPES as readonly string[]).includes(type))
    failConfig(`${where}.type`, `must be one of ${PROVIDER_TYPES.join(", ")}; got '${type}'`);
  const providerType = type as ProviderType;
  const givenUrl =
    entry.baseUrl === undefined
      ? DEFAULT_BASE_URLS[providerType]
      : readString(entry.baseUrl, `${where}.baseUrl`);
  if (!isHttpUrl(givenUrl)) failConfig(`${where}.baseUrl`, `must be an http(s) URL; got '${givenUrl}'`);
  const problem = baseUrlProblem(givenUrl);
  if (problem !== null) failConfig(`${where}.baseUrl`, problem);
  const baseUrl = providerType === "anthropic" ? anthropicRoot(givenUrl) : givenUrl;
  const apiKeyEnv = entry.apiKeyEnv === undefined ? null : readString(entry.apiKeyEnv, `${where}.apiKeyEnv`);
  if (apiKeyEnv !== null && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv)) {
    failConfig(
      `${where}.apiKeyEnv`,
      "must be the name of an environment variable (the key itself never goes in the config)",
    );
  }
  const headers: Record<string, string> = {};
  if (entry.headers !== undefined) {
    for (const [key, value] of Object.entries(readObject(entry.headers, `${where}.headers`)))
      headers[key] = readString(value, `${where}.headers.${key}`);
  }
  const timeouts = { ...DEFAULT_TIMEOUTS };
  if (entry.timeouts !== undefined) {
    const given = readObject(entry.timeouts, `${where}.timeouts`);
    for (const [key, value] of Object.entries(given)) {
      if (!(key in DEFAULT_TIMEOUTS))
        failConfig(
          `${where}.timeouts.${key}`,
          `is not a timeout; use ${Object.keys(DEFAULT_TIMEOUTS).join(", ")}`,
        );
      const ms = readPositiveInt(value, `${where}.timeouts.${key}`);
      if (ms > MAX_TIMER_MS)
        failConfig(
          `${where}.timeouts.${key}`,
          `must be at most ${MAX_TIMER_MS} ms (about 24 days); got ${ms}`,
        );
      timeouts[key as keyof TimeoutOptions] = ms;
    }
  }
  const maxConnections =
    entry.maxConnections === undefined
      ? 256
      : readPositiveInt(entry.maxConnections, `${where}.maxConnections`);
  const retry = retryOptions(
    {
      ...defaults.retry,
      ...(entry.retry === undefined ? {} : readObject(entry.retry, `${where}.retry`, RETRY_KEYS)),
    },
    `${where}.retry`,
  );
  const breaker = breakerOptions(
    {
      ...defaults.breaker,
      ...(entry.breaker === undefined ? {} : readObject(entry.breaker, `${where}.breaker`, BREAKER_KEYS)),
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
