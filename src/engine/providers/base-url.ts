/**
 * Provider base URLs: the default root of each provider type, and the checks that refuse at
 * start-up a base URL whose parts requests would silently lose.
 */
import type { ProviderType } from "./types.ts";

export const DEFAULT_BASE_URLS: Record<ProviderType, string> = {
  "openai-chat": "https://api.openai.com/v1",
  "openai-responses": "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
  mock: "http://mock.invalid",
};

export function isHttpUrl(value: string): boolean {
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
export function baseUrlProblem(value: string): string | null {
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
export function anthropicRoot(value: string): string {
  return value.replace(/\/+$/, "").replace(/\/v1$/, "");
}
