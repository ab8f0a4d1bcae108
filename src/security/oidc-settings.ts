/**
 * An external identity provider's settings and the checks on each of them, shared by the library
 * (`createOidcVerifier`, which names them `providers[i].jwksUrl`) and the config file
 * (`security.oidc_providers[i].jwks_url`): each check returns what is wrong, the caller names the key.
 */

/** Asymmetric algorithms only: an HMAC algorithm here would let anyone holding the JWKS sign. */
export const OIDC_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"] as const;

/**
 * Leeway on a provider token's `exp` and `nbf`, in seconds, when none is configured. Clocks
 * kept by NTP differ by well under a second, but a provider's or a VM's clock a few seconds ahead
 * is common, and without leeway its fresh tokens are "not yet valid" and its expiring ones die
 * early: every such request a 401 the client cannot fix. 30 s covers that (the lower end of what
 * jose users and gateways pick, 30–60 s) while an expired token lives at most 30 s longer, small
 * next to provider token lifetimes of 5 minutes to an hour.
 */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** More leeway than 5 minutes would hide a broken clock and keep expired tokens alive. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/**
 * How long fetching a provider's key set may take before its tokens get 503, when none is set:
 * long enough for a provider on another continent, short enough that a client sees 503 before
 * its own timeout.
 */
export const DEFAULT_JWKS_TIMEOUT_MS = 5000;
/** Under 100 ms even a healthy provider's TLS handshake may not finish: every token would be 503. */
export const MIN_JWKS_TIMEOUT_MS = 100;
/** Over a minute, requests would hang on a provider that is down longer than clients wait. */
export const MAX_JWKS_TIMEOUT_MS = 60_000;

export interface OidcProviderConfig {
  issuer: string;
  jwksUrl: string;
  /** The `aud` its tokens carry for Holdfast; a list accepts a token whose `aud` holds any of them. */
  audience: string | readonly string[];
  /** Holdfast tenant the provider's users belong to. */
  tenant: string;
  /** Accepted algorithms, a subset of OIDC_ALGORITHMS (default all of them). */
  algorithms?: readonly string[];
  /** Scopes granted to its users (default conversations:read, conversations:write, responses). */
  scopes?: readonly string[];
  /** Leeway on `exp`/`nbf` in whole seconds, 0…300 (default DEFAULT_CLOCK_TOLERANCE_SECONDS). */
  clockToleranceSeconds?: number;
  /** Its key-set fetch timeout, 100…60 000 ms (default: the verifier's `jwksTimeoutMs`, 5 000). */
  jwksTimeoutMs?: number;
}

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/i;

/**
 * Why a JWKS URL cannot be used, or null. Keys fetched over plain http could be swapped by anyone
 * on the path, who could then sign tokens for any user: https only, http on loopback alone (a
 * provider, or a test's key server, on the same machine).
 */
export function jwksUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute https URL such as https://idp.example.com/.well-known/jwks.json";
  }
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && LOOPBACK_HOST.test(url.hostname)) return null;
  return "must be an https URL (http only on a loopback host such as 127.0.0.1): keys fetched over plain http could be swapped in transit";
}

/**
 * Why an audience cannot be used, or null: one non-empty string, or a non-empty list of them (a
 * provider registering Holdfast under several identifiers). An empty list or entry would match no
 * token, every one of its users a 401 with no hint why.
 */
export function audienceProblem(value: unknown): string | null {
  const usable = (entry: unknown) => typeof entry === "string" && entry.trim() !== "";
  if (Array.isArray(value) ? value.length > 0 && value.every(usable) : usable(value)) return null;
  return "is required: one non-empty string, or a non-empty list of them (a token whose 'aud' holds any of them is accepted)";
}

/** Why a clock tolerance cannot be used, or null. */
export function clockToleranceProblem(value: unknown): string | null {
  if (
    Number.isSafeInteger(value) &&
    (value as number) >= 0 &&
    (value as number) <= MAX_CLOCK_TOLERANCE_SECONDS
  ) {
    return null;
  }
  return `must be a whole number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS} (default ${DEFAULT_CLOCK_TOLERANCE_SECONDS})`;
}

/** Why a JWKS fetch timeout cannot be used, or null. */
export function jwksTimeoutProblem(value: unknown): string | null {
  if (
    Number.isSafeInteger(value) &&
    (value as number) >= MIN_JWKS_TIMEOUT_MS &&
    (value as number) <= MAX_JWKS_TIMEOUT_MS
  ) {
    return null;
  }
  return `must be a whole number of milliseconds from ${MIN_JWKS_TIMEOUT_MS} to ${MAX_JWKS_TIMEOUT_MS} (default ${DEFAULT_JWKS_TIMEOUT_MS})`;
}
