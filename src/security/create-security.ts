/**
 * One factory wiring the security library over a store, for the server and CLI:
 *
 *   const security = createSecurity({ store, issuer: "https://holdfast.example.com" });
 *   const principal = await security.authenticator.authenticate(request.headers);
 *   requireScope(principal, "responses");
 *
 * Everything it returns is also available piecemeal from the individual modules.
 */
import type { JWK } from "jose";
import { InvalidArgumentError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import { type AccessTokens, createAccessTokens } from "./access-tokens.ts";
import { type ApiKeys, createApiKeys } from "./api-keys.ts";
import { type Authenticator, createAuthenticator } from "./authenticate.ts";
import { createOidcVerifier, type OidcProviderConfig, type OidcVerifier } from "./oidc.ts";
import { clockToleranceProblem } from "./oidc-settings.ts";
import { createRefreshTokens, type RefreshTokens } from "./refresh-tokens.ts";
import { createOwnerRevocations, type OwnerRevocations } from "./revocations.ts";
import { createSigningKeys, type SigningKeys } from "./signing-keys.ts";
import { createSystemRecords, type SystemRecords } from "./system-records.ts";
import { createTenantRegistry, type TenantRegistry } from "./tenants.ts";

/** `iss` of Holdfast-minted access tokens when `issuer` is not given (what `holdfast serve` uses). */
export const DEFAULT_TOKEN_ISSUER = "holdfast";

export interface SecurityOptions {
  /** Store holding system records (the plain store, not an encrypting decorator). */
  store: SessionStore;
  /** `iss` of Holdfast-minted access tokens (default `holdfast`). */
  issuer?: string;
  /** `aud` of Holdfast-minted access tokens (default `holdfast`). */
  audience?: string;
  /** Access-token lifetime in seconds (default 900). */
  accessTokenTtlSeconds?: number;
  /**
   * Seconds an access token stays valid past its `exp` on this instance's clock, 0…300 (default 30,
   * as `clockToleranceSeconds` of an identity provider): instances' clocks differ a little.
   */
  accessTokenClockToleranceSeconds?: number;
  /** Signing keys from configuration (tenant → private Ed25519 JWKs with kid); others are generated. */
  signingKeys?: Readonly<Record<string, readonly JWK[]>>;
  /** External identity providers accepted as bearer tokens. */
  oidcProviders?: readonly OidcProviderConfig[];
  clock?: () => number;
}

export interface Security {
  records: SystemRecords;
  tenants: TenantRegistry;
  apiKeys: ApiKeys;
  signingKeys: SigningKeys;
  revocations: OwnerRevocations;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokens;
  oidc: OidcVerifier | null;
  authenticator: Authenticator;
}

export function createSecurity(options: SecurityOptions): Security {
  const clock = options.clock ?? Date.now;
  const issuer = options.issuer ?? DEFAULT_TOKEN_ISSUER;
  // Holdfast's own tokens are recognised by their issuer first: a provider with the same one
  // would never be asked, its users refused as 401 with no hint why.
  for (const [index, provider] of (options.oidcProviders ?? []).entries()) {
    if (provider.issuer === issuer) {
      throw new InvalidArgumentError(
        `providers[${index}].issuer '${issuer}' is the issuer of Holdfast's own access tokens; an identity provider needs its own.`,
        { param: "issuer" },
      );
    }
  }
  const tolerance = options.accessTokenClockToleranceSeconds;
  const toleranceProblem = tolerance === undefined ? null : clockToleranceProblem(tolerance);
  if (toleranceProblem) {
    throw new InvalidArgumentError(`accessTokenClockToleranceSeconds ${toleranceProblem}.`, {
      param: "accessTokenClockToleranceSeconds",
    });
  }
  const records = createSystemRecords(options.store);
  const signingKeys = createSigningKeys({
    records,
    clock,
    ...(options.signingKeys === undefined ? {} : { configured: options.signingKeys }),
  });
  const revocations = createOwnerRevocations({ records, clock });
  const accessTokens = createAccessTokens({
    signingKeys,
    revocations,
    issuer,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    ...(options.accessTokenTtlSeconds === undefined ? {} : { ttlSeconds: options.accessTokenTtlSeconds }),
    ...(tolerance === undefined ? {} : { clockToleranceSeconds: tolerance }),
    clock,
  });
  const apiKeys = createApiKeys({ records, clock });
  const oidc =
    options.oidcProviders && options.oidcProviders.length > 0
      ? createOidcVerifier({ providers: options.oidcProviders, clock, revocations })
      : null;
  return Object.freeze({
    records,
    tenants: createTenantRegistry(records, { clock }),
    apiKeys,
    signingKeys,
    revocations,
    accessTokens,
    refreshTokens: createRefreshTokens({ records, accessTokens, revocations, clock }),
    oidc,
    authenticator: createAuthenticator({ apiKeys, accessTokens, ...(oidc ? { oidc } : {}) }),
  });
}
