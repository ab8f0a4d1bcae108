/**
 * External identity providers: OIDC access tokens accepted by issuer + JWKS URL + audience from
 * configuration. The provider is picked by the token's (unverified) `iss`, then everything is
 * verified against that provider only: its JWKS, its audience, its pinned algorithms, its clock
 * tolerance on `exp`/`nbf` (the settings and their checks: oidc-settings.ts). A JWKS that cannot be
 * fetched (timeout, refused connection, non-200, not a key set) is the infrastructure's fault:
 * 503 `unavailable`, never a 401 that sends the client to refresh a token that may be fine.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { InvalidArgumentError, isHoldfastError, UnavailableError } from "../store/errors.ts";
import { checkTokenOwner, endUserScopes } from "./access-tokens.ts";
import { InvalidTokenError } from "./errors.ts";
import {
  audienceProblem,
  clockToleranceProblem,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_JWKS_TIMEOUT_MS,
  jwksTimeoutProblem,
  jwksUrlProblem,
  OIDC_ALGORITHMS,
  type OidcProviderConfig,
} from "./oidc-settings.ts";
import type { OwnerRevocations } from "./revocations.ts";
import type { Principal, Scope } from "./scopes.ts";
import { checkTenantName } from "./tenants.ts";

export * from "./oidc-settings.ts";

export interface OidcVerifier {
  /** Whether some configured provider claims tokens with this issuer. */
  handles(issuer: string): boolean;
  verify(token: string): Promise<Principal>;
}

interface Provider {
  config: OidcProviderConfig;
  /** A copy (jose wants a mutable list), a token's `aud` must hold one of them. */
  audience: string | string[];
  algorithms: string[];
  scopes: Scope[];
  /** Seconds of leeway on `exp` and `nbf` (jose's `clockTolerance`). */
  clockTolerance: number;
  jwks: JWTVerifyGetKey;
}

/**
 * Whether a key lookup failed for want of the key set rather than because of the token: the fetch
 * timed out or failed (a raw network error), answered other than 200 or not JSON (jose's generic
 * error), or was no key set. No matching key, several, an unsupported one stay the token's fault.
 */
function jwksUnreachable(error: unknown): boolean {
  if (!(error instanceof joseErrors.JOSEError)) return true;
  return (
    error instanceof joseErrors.JWKSTimeout ||
    error instanceof joseErrors.JWKSInvalid ||
    error.code === joseErrors.JOSEError.code
  );
}

/** The provider's key set, a failure to get it turned into `unavailable`. */
function remoteKeys(config: OidcProviderConfig, timeoutMs: number): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: timeoutMs });
  return (header, token) =>
    jwks(header, token).catch((error: unknown) => {
      if (!jwksUnreachable(error)) throw error;
      throw new UnavailableError(
        `The identity provider's keys (${config.issuer}) could not be fetched; retry shortly.`,
        { cause: error },
      );
    });
}

export function createOidcVerifier(options: {
  providers: readonly OidcProviderConfig[];
  clock?: () => number;
  /**
   * How long a JWKS fetch may take before verification fails with 503, for providers without their
   * own `jwksTimeoutMs` (100…60 000, default 5 000 ms).
   */
  jwksTimeoutMs?: number;
  /**
   * "Log out everywhere" instants (`createSecurity` passes its own): a provider token issued at or
   * before its user's is refused, as Holdfast's own tokens are. Absent: not checked.
   */
  revocations?: OwnerRevocations;
}): OidcVerifier {
  const clock = options.clock ?? Date.now;
  const providers = new Map<string, Provider>();
  const defaultTimeoutMs = options.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS;
  const defaultTimeoutProblem = jwksTimeoutProblem(defaultTimeoutMs);
  if (defaultTimeoutProblem) {
    throw new InvalidArgumentError(`jwksTimeoutMs ${defaultTimeoutProblem}.`, { param: "jwksTimeoutMs" });
  }
  for (const [index, config] of options.providers.entries()) {
    const at = `providers[${index}]`;
    for (const field of ["issuer", "jwksUrl", "tenant"] as const) {
      if (typeof config[field] !== "string" || config[field].length === 0) {
        throw new InvalidArgumentError(`${at}.${field} is required.`);
      }
    }
    const audienceIssue = audienceProblem(config.audience);
    if (audienceIssue)
      throw new InvalidArgumentError(`${at}.audience ${audienceIssue}.`, { param: "audience" });
    const urlProblem = jwksUrlProblem(config.jwksUrl);
    if (urlProblem) throw new InvalidArgumentError(`${at}.jwksUrl ${urlProblem}.`, { param: "jwksUrl" });
    // One provider per issuer: a second would silently replace the first's keys and tenant.
    if (providers.has(config.issuer)) {
      throw new InvalidArgumentError(
        `${at}.issuer '${config.issuer}' is already configured by another provider.`,
        {
          param: "issuer",
        },
      );
    }
    checkTenantName(config.tenant);
    const algorithms = [...(config.algorithms ?? OIDC_ALGORITHMS)];
    // An empty list would make every one of its tokens 401: leave it out for all of them.
    if (algorithms.length === 0) {
      throw new InvalidArgumentError(
        `${at}.algorithms is empty; leave it out to accept ${OIDC_ALGORITHMS.join(", ")}.`,
        {
          param: "algorithms",
        },
      );
    }
    for (const alg of algorithms) {
      if (!(OIDC_ALGORITHMS as readonly string[]).includes(alg)) {
        throw new InvalidArgumentError(
          `${at}.algorithms: '${alg}' is not one of ${OIDC_ALGORITHMS.join(", ")}.`,
        );
      }
    }
    const tolerance = config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    const toleranceProblem = clockToleranceProblem(tolerance);
    if (toleranceProblem) {
      throw new InvalidArgumentError(`${at}.clockToleranceSeconds ${toleranceProblem}.`, {
        param: "clockToleranceSeconds",
      });
    }
    const timeoutMs = config.jwksTimeoutMs ?? defaultTimeoutMs;
    const timeoutProblem = jwksTimeoutProblem(timeoutMs);
    if (timeoutProblem) {
      throw new InvalidArgumentError(`${at}.jwksTimeoutMs ${timeoutProblem}.`, { param: "jwksTimeoutMs" });
    }
    // Its users are end users: never `admin` (they could make API keys), never no scope at all.
    let scopes: Scope[];
    try {
      scopes = endUserScopes(config.scopes);
    } catch (error) {
      throw new InvalidArgumentError(`${at}.scopes: ${(error as Error).message}`, { param: "scopes" });
    }
    providers.set(config.issuer, {
      config: Object.freeze({ ...config }),
      audience: typeof config.audience === "string" ? config.audience : [...config.audience],
      algorithms,
      scopes,
      clockTolerance: tolerance,
      jwks: remoteKeys(config, timeoutMs),
    });
  }

  return Object.freeze({
    handles(issuer: string): boolean {
      return providers.has(issuer);
    },
    async verify(token: string): Promise<Principal> {
      let issuer: unknown;
      try {
        issuer = decodeJwt(token).iss;
      } catch {
        throw new InvalidTokenError("The token is not a JWT.");
      }
      const provider = typeof issuer === "string" ? providers.get(issuer) : undefined;
      if (!provider) throw new InvalidTokenError("The token's issuer is not a configured identity provider.");
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, provider.jwks, {
          issuer: provider.config.issuer,
          audience: provider.audience,
          algorithms: provider.algorithms,
          requiredClaims: ["iss", "aud", "exp", "sub"],
          currentDate: new Date(clock()),
          clockTolerance: provider.clockTolerance,
        }));
      } catch (error) {
        if (isHoldfastError(error) && error.fault === "system") throw error;
        throw new InvalidTokenError("The identity provider's token is invalid or expired.", { cause: error });
      }
      let owner: string;
      try {
        // The subject becomes the owner: the same rules as every owner on the HTTP API (no control
        // characters), or its user could neither create a conversation nor be logged out.
        owner = checkTokenOwner(payload.sub);
      } catch (error) {
        throw new InvalidTokenError("The token's subject is missing, too long or has control characters.", {
          cause: error,
        });
      }
      const tenant = provider.config.tenant;
      if (options.revocations) {
        // `iat` is in whole seconds: a token of the log-out's own second counts as issued before
        // it (one signed just before must not pass), and one without `iat` as issued long ago.
        const issuedMs = typeof payload.iat === "number" ? payload.iat * 1000 : 0;
        const notBefore = await options.revocations.notBefore(tenant, owner);
        if (notBefore > 0 && issuedMs <= notBefore) {
          throw new InvalidTokenError("The token was revoked by a log out everywhere; sign in again.");
        }
      }
      return {
        kind: "oidc",
        tenant,
        scopes: provider.scopes,
        keyId: null,
        owner,
        conversationId: null,
      };
    },
  });
}
