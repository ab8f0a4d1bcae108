/**
 * Every config-file section `holdfast serve` reads (and the encryption keyring), parsed and
 * validated in one place: `createHoldfastApp` runs it before opening the store, and `holdfast
 * doctor` runs the same checks, so a configuration doctor passes is one serve starts with.
 */
import { parseGatewayConfig } from "./config/gateway-config.ts";
import type { ServerConfig } from "./config/load-config.ts";
import { parseRateLimitRedis } from "./config/rate-limit-redis.ts";
import { parseRateLimitsConfig } from "./config/rate-limits-config.ts";
import { parseSecurityConfig } from "./config/security-config.ts";
import { parseProvidersConfig, providersSectionOf } from "./engine/providers/config.ts";
import { parseLifecycleConfig } from "./lifecycle/index.ts";
import { keyringFromEnv } from "./security/encryption/keyring.ts";

/**
 * The sections of the server itself (lifecycle, gateway, rate limits, security); throws the
 * `invalid_argument` of the first one at fault, naming the key.
 */
export function parseServeSections(
  config: Pick<ServerConfig, "file" | "configFile">,
  env: Record<string, string | undefined>,
) {
  const where = config.configFile ? `config file '${config.configFile}'` : undefined;
  const lifecycle = parseLifecycleConfig(config.file.lifecycle);
  const gateway = parseGatewayConfig(config.file.gateway);
  const rateLimits = parseRateLimitsConfig(config.file.rate_limits);
  const rateLimitRedis = parseRateLimitRedis(config.file.rate_limits, env, where);
  const security = parseSecurityConfig(config.file.security, where);
  return { lifecycle, gateway, rateLimits, rateLimitRedis, security };
}

/** Those, the provider layer's sections and the keyring: everything serve checks before the store opens. */
export function parseAppSections(
  config: Pick<ServerConfig, "file" | "configFile">,
  env: Record<string, string | undefined>,
) {
  const serve = parseServeSections(config, env);
  const providers = parseProvidersConfig(providersSectionOf(config.file), env);
  const keyring = keyringFromEnv(env);
  return { ...serve, providers, keyring };
}
