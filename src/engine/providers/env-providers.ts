/**
 * The environment's side of provider configuration: the providers that the OpenAI and Anthropic
 * SDK conventions imply when the config lists none (OPENAI_API_KEY / OPENAI_BASE_URL,
 * ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL), and reading a provider's API key from its variable.
 */
import { baseUrlProblem, DEFAULT_BASE_URLS, isHttpUrl } from "./base-url.ts";
import { failConfig } from "./config-fields.ts";
import { type ProviderConfig, type ProviderDefaults, parseProviderEntry } from "./provider-entry.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** The providers the environment names, OpenAI first; none when neither convention is set. */
export function providersFromEnv(env: Env, defaults: ProviderDefaults): ProviderConfig[] {
  const providers: ProviderConfig[] = [];
  if (env.OPENAI_API_KEY?.trim() || env.OPENAI_BASE_URL?.trim()) {
    const baseUrl = envUrl(env, "OPENAI_BASE_URL", DEFAULT_BASE_URLS["openai-responses"]);
    // OpenAI itself speaks the Responses API; compatible servers (Ollama, vLLM, Groq…) only Chat Completions.
    const type = new URL(baseUrl).hostname === "api.openai.com" ? "openai-responses" : "openai-chat";
    providers.push(
      parseProviderEntry(
        {
          name: "openai",
          type,
          baseUrl,
          ...(env.OPENAI_API_KEY?.trim() ? { apiKeyEnv: "OPENAI_API_KEY" } : {}),
        },
        "OPENAI_BASE_URL",
        defaults,
      ),
    );
  }
  if (env.ANTHROPIC_API_KEY?.trim()) {
    const baseUrl = envUrl(env, "ANTHROPIC_BASE_URL", DEFAULT_BASE_URLS.anthropic);
    providers.push(
      parseProviderEntry(
        { name: "anthropic", type: "anthropic", baseUrl, apiKeyEnv: "ANTHROPIC_API_KEY" },
        "ANTHROPIC_BASE_URL",
        defaults,
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
    failConfig(
      name,
      `must be an http(s) URL such as http://localhost:11434/v1; got '${value.slice(0, 200)}'`,
    );
  }
  const problem = baseUrlProblem(value);
  if (problem !== null) failConfig(name, problem);
  return value;
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
    failConfig(
      `providers.${config.name}.apiKeyEnv`,
      `names ${config.apiKeyEnv}, which is not set in the environment`,
    );
  }
  // Header values are visible ASCII and spaces: anything else (a line break, a tab inside, a
  // character from a copied document) makes every upstream request fail before it is sent.
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(key)) {
    failConfig(
      config.apiKeyEnv,
      "holds characters an HTTP header cannot carry (a line break, a control or non-ASCII character); set it to the key alone",
    );
  }
  return key;
}
