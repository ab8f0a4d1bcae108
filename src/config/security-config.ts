/**
 * The `security` section of the config file: external identity providers whose OIDC access tokens
 * `holdfast serve` accepts as bearer tokens (docs/configuration.md, docs/security.md). Validated at
 * start-up, before the store opens, with messages naming the key as written and the file; unknown
 * keys are refused so a typo does not leave a provider out. Everything else about security lives
 * elsewhere (API keys in the store, the keyring and admin key in the environment): a key for it
 * here is refused saying where.
 */
import { endUserScopes } from "../security/access-tokens.ts";
import { DEFAULT_TOKEN_ISSUER } from "../security/create-security.ts";
import {
  audienceProblem,
  clockToleranceProblem,
  jwksTimeoutProblem,
  jwksUrlProblem,
  OIDC_ALGORITHMS,
  type OidcProviderConfig,
} from "../security/oidc-settings.ts";
import { checkTenantName } from "../security/tenants.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import { isPlainObject } from "../store/validate.ts";
import { unprintableProblem } from "./values.ts";

export interface SecurityConfig {
  /** External identity providers (empty: none, only API keys and Holdfast's own tokens). */
  oidcProviders: readonly OidcProviderConfig[];
}

const KEYS = ["oidc_providers"] as const;
const PROVIDER_KEYS = [
  "issuer",
  "jwks_url",
  "audience",
  "tenant",
  "scopes",
  "algorithms",
  "clock_tolerance_s",
  "jwks_timeout_ms",
] as const;
const ELSEWHERE =
  "API keys are made with 'holdfast keys create', the dashboard's admin key is HOLDFAST_ADMIN_KEY, encryption at rest is HOLDFAST_KEYS or HOLDFAST_KEY_FILE and rate limits are the 'rate_limits' section (docs/security.md)";

function shown(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 80) ?? String(value);
}

/**
 * Parses `section` (undefined, null or empty: no providers). `where` names the file in messages,
 * e.g. `config file '/srv/holdfast.yaml'`.
 */
export function parseSecurityConfig(section: unknown, where = "the config file"): SecurityConfig {
  const fail = (key: string, what: string): never => {
    throw new InvalidArgumentError(`${key} in ${where} ${what}.`, { param: key });
  };
  if (section === undefined || section === null) return Object.freeze({ oidcProviders: [] });
  if (!isPlainObject(section)) return fail("security", "must be an object with oidc_providers");
  for (const key of Object.keys(section)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      fail(`security.${key}`, `is not a setting; the only one is oidc_providers (${ELSEWHERE})`);
    }
  }
  const list = section.oidc_providers;
  if (list === undefined || list === null) return Object.freeze({ oidcProviders: [] });
  if (!Array.isArray(list)) {
    return fail(
      "security.oidc_providers",
      "must be a list of providers, each with issuer, jwks_url, audience and tenant",
    );
  }
  const issuers = new Map<string, number>();
  const providers = list.map((raw, index) => {
    const at = `security.oidc_providers[${index}]`;
    if (!isPlainObject(raw)) return fail(at, "must be an object with issuer, jwks_url, audience and tenant");
    for (const key of Object.keys(raw)) {
      if (!(PROVIDER_KEYS as readonly string[]).includes(key)) {
        fail(`${at}.${key}`, `is not a setting; use one of ${PROVIDER_KEYS.join(", ")}`);
      }
    }
    const text = (key: (typeof PROVIDER_KEYS)[number], what: string): string => {
      const value = raw[key];
      if (typeof value !== "string" || value.trim() === "") {
        fail(`${at}.${key}`, `is required: ${what} (got ${shown(value)})`);
      }
      // The issuer (and tenant) go on the start-up line: a line break would forge another line.
      const problem = unprintableProblem(value as string);
      if (problem) fail(`${at}.${key}`, problem);
      return value as string;
    };
    const issuer = text("issuer", "the provider's 'iss', exactly as in its tokens");
    // Holdfast's own tokens are matched by issuer first: such a provider would never be asked.
    if (issuer === DEFAULT_TOKEN_ISSUER) {
      fail(
        `${at}.issuer`,
        `is '${issuer}', the issuer of Holdfast's own access tokens; give the provider's own`,
      );
    }
    const earlier = issuers.get(issuer);
    if (earlier !== undefined) {
      fail(
        `${at}.issuer`,
        `'${issuer}' is already security.oidc_providers[${earlier}]'s; one entry per issuer`,
      );
    }
    issuers.set(issuer, index);
    const jwksUrl = text("jwks_url", "the URL of the provider's key set (JWKS)");
    const urlProblem = jwksUrlProblem(jwksUrl);
    if (urlProblem) fail(`${at}.jwks_url`, `${urlProblem} (got ${shown(jwksUrl)})`);
    // The 'aud' the provider puts in tokens meant for Holdfast, or a list of them.
    for (const entry of Array.isArray(raw.audience) ? raw.audience : [raw.audience]) {
      const problem = typeof entry === "string" ? unprintableProblem(entry) : null;
      if (problem) fail(`${at}.audience`, problem);
    }
    const audienceIssue = audienceProblem(raw.audience);
    if (audienceIssue) fail(`${at}.audience`, `${audienceIssue} (got ${shown(raw.audience)})`);
    const audience = Array.isArray(raw.audience)
      ? Object.freeze([...(raw.audience as string[])])
      : (raw.audience as string);
    const tenant = text("tenant", "the Holdfast tenant the provider's users belong to");
    try {
      checkTenantName(tenant);
    } catch (error) {
      fail(`${at}.tenant`, `is not a tenant name: ${(error as Error).message}`);
    }
    const strings = (key: "scopes" | "algorithms"): string[] | undefined => {
      const value = raw[key];
      if (value === undefined || value === null) return undefined;
      if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) {
        return fail(`${at}.${key}`, `must be a list of strings (got ${shown(value)})`);
      }
      return value;
    };
    const scopes = strings("scopes");
    try {
      // Its users are end users, as those of Holdfast's own tokens: at least one scope, never admin.
      endUserScopes(scopes);
    } catch (error) {
      fail(`${at}.scopes`, `is refused: ${(error as Error).message}`);
    }
    const algorithms = strings("algorithms");
    const foreign = algorithms?.find((alg) => !(OIDC_ALGORITHMS as readonly string[]).includes(alg));
    if (foreign !== undefined) {
      fail(
        `${at}.algorithms`,
        `holds '${foreign}'; use some of ${OIDC_ALGORITHMS.join(", ")} (asymmetric only)`,
      );
    }
    if (algorithms?.length === 0) fail(`${at}.algorithms`, "is empty; leave it out to accept them all");
    // A number left empty (YAML `jwks_timeout_ms:`) is left out, as scopes and algorithms are: the
    // library's default applies.
    const number = (
      key: "clock_tolerance_s" | "jwks_timeout_ms",
      problem: (value: unknown) => string | null,
    ) => {
      const value = raw[key] ?? undefined;
      const issue = value === undefined ? null : problem(value);
      if (issue) fail(`${at}.${key}`, `${issue} (got ${shown(value)})`);
      return value as number | undefined;
    };
    const tolerance = number("clock_tolerance_s", clockToleranceProblem);
    const timeoutMs = number("jwks_timeout_ms", jwksTimeoutProblem);
    return Object.freeze({
      issuer,
      jwksUrl,
      audience,
      tenant,
      ...(scopes ? { scopes } : {}),
      ...(algorithms ? { algorithms } : {}),
      ...(tolerance === undefined ? {} : { clockToleranceSeconds: tolerance }),
      ...(timeoutMs === undefined ? {} : { jwksTimeoutMs: timeoutMs }),
    });
  });
  return Object.freeze({ oidcProviders: Object.freeze(providers) });
}
