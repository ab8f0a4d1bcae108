/**
 * End-user access tokens: short-lived JWTs signed with the tenant's Ed25519 key (EdDSA).
 * Verification pins the algorithm list (so `alg: none` and HS256-with-the-public-key forgeries
 * fail), requires iss/aud/exp/iat/sub/tenant, selects the key by the token's tenant and `kid`,
 * and rejects tokens issued before the owner's revocation instant (`notBefore`). `exp` is checked
 * with a clock tolerance (default 30 s, as for identity providers): the instance that minted a
 * token and the one verifying it read different clocks. A store that
 * fails while the signing keys load is the server's fault (503 `unavailable`), never a 401: a
 * client told its token is invalid signs in again for nothing.
 */
import { decodeJwt, type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { InvalidArgumentError, isHoldfastError, UnavailableError } from "../store/errors.ts";
import { checkOwner, checkSessionId, checkTenant } from "../store/validate.ts";
import { InvalidTokenError } from "./errors.ts";
import { checkNoControlChars } from "./hostile-input.ts";
import { clockToleranceProblem, DEFAULT_CLOCK_TOLERANCE_SECONDS } from "./oidc-settings.ts";
import type { OwnerRevocations } from "./revocations.ts";
import { END_USER_SCOPES, type Principal, parseScopes, type Scope } from "./scopes.ts";
import { SIGNING_ALGORITHM, type SigningKeys } from "./signing-keys.ts";
import { checkTenantName } from "./tenants.ts";

export interface AccessTokensOptions {
  signingKeys: SigningKeys;
  revocations: OwnerRevocations;
  /** `iss` of every token Holdfast mints, e.g. `https://holdfast.example.com`. */
  issuer: string;
  /** `aud` of every token, default `holdfast`. */
  audience?: string;
  /** Lifetime of a token in seconds (default 900, at most 3600). */
  ttlSeconds?: number;
  /**
   * Verified tokens remembered (default 10 000, 0 disables): a repeat of the same token skips the
   * signature check but still checks expiry and the owner's revocation instant every time.
   */
  verifiedCacheSize?: number;
  /**
   * Seconds a token stays valid past its `exp` on this instance's clock, 0…300 (default 30, the
   * identity providers' default): the instance that minted it may run behind this one.
   */
  clockToleranceSeconds?: number;
  clock?: () => number;
}

export interface MintInput {
  /** The end user (`sub`). */
  owner: string;
  /** Limit the token to one conversation. */
  conversationId?: string | null;
  /** Default: conversations:read, conversations:write, responses. `admin` is refused. */
  scopes?: readonly string[];
  ttlSeconds?: number;
}

export interface MintedToken {
  token: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface AccessTokens {
  readonly issuer: string;
  readonly audience: string;
  mint(tenant: string, input: MintInput): Promise<MintedToken>;
  verify(token: string): Promise<Principal>;
}

const MAX_TTL = 3600;

function checkTtl(value: number, param: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_TTL) {
    throw new InvalidArgumentError(`${param} must be 1-${MAX_TTL} seconds.`, { param });
  }
  return value;
}

/**
 * The owner (`sub`) of an end-user token: 1-256 characters without control characters, as the
 * HTTP routes require of every owner (so the token's user can be listed and logged out).
 */
export function checkTokenOwner(value: unknown): string {
  const owner = checkOwner(value);
  if (owner === null) throw new InvalidArgumentError("owner is required.", { param: "owner" });
  return checkNoControlChars(owner, "owner");
}

/**
 * The conversation a token is limited to, or null for none (absent or null). Any other value
 * must be a conversation id: an empty string is refused, not read as "no limit".
 */
export function checkTokenConversation(value: unknown): string | null {
  return value === undefined || value === null ? null : checkSessionId(value, "conversationId");
}

/**
 * Scopes of a token: at least one (a token without any passes no route, and its empty `scope`
 * claim would read back as an unknown scope: 401 on every request), never `admin`, which stays
 * with API keys.
 */
export function endUserScopes(input: readonly string[] | undefined): Scope[] {
  const scopes = input === undefined ? [...END_USER_SCOPES] : parseScopes(input);
  if (scopes.length === 0) {
    throw new InvalidArgumentError(
      "Give at least one scope, or leave scopes out for the default: conversations:read, conversations:write, responses.",
      { param: "scopes" },
    );
  }
  if (scopes.includes("admin")) {
    throw new InvalidArgumentError("End-user tokens cannot carry the 'admin' scope.", { param: "scopes" });
  }
  return scopes;
}

/**
 * A failure loading signing keys: a store's typed error as it is (its system faults pass through
 * verification), anything else (a driver's raw connection error) as `unavailable`.
 */
function keysUnavailable(error: unknown): unknown {
  if (isHoldfastError(error)) return error;
  return new UnavailableError("The token's signing keys could not be loaded; retry shortly.", {
    cause: error,
  });
}

export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  const { signingKeys, revocations } = options;
  if (typeof options.issuer !== "string" || options.issuer.length === 0) {
    throw new InvalidArgumentError("issuer is required (e.g. 'https://holdfast.example.com').");
  }
  const issuer = options.issuer;
  const audience = options.audience ?? "holdfast";
  const defaultTtl = checkTtl(options.ttlSeconds ?? 900, "ttlSeconds");
  const clock = options.clock ?? Date.now;
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const toleranceProblem = clockToleranceProblem(tolerance);
  if (toleranceProblem) {
    throw new InvalidArgumentError(`clockToleranceSeconds ${toleranceProblem}.`, {
      param: "clockToleranceSeconds",
    });
  }
  const toleranceMs = tolerance * 1000;
  const cacheSize = options.verifiedCacheSize ?? 10_000;
  const verified = new Map<string, { principal: Principal; expMs: number; issuedMs: number }>();

  async function mint(tenant: string, input: MintInput): Promise<MintedToken> {
    checkTenantName(tenant);
    const owner = checkTokenOwner(input.owner);
    const conversationId = checkTokenConversation(input.conversationId);
    const scopes = endUserScopes(input.scopes);
    const ttl = checkTtl(input.ttlSeconds ?? defaultTtl, "ttlSeconds");
    const nowMs = clock();
    const iat = Math.floor(nowMs / 1000);
    const { kid, key } = await signingKeys.active(tenant);
    const claims: JWTPayload = { tenant, scope: scopes.join(" "), iat_ms: nowMs };
    if (conversationId) claims.cid = conversationId;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: "at+jwt" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(owner)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(key);
    return { token, expiresAt: iat + ttl };
  }

  async function verify(token: string): Promise<Principal> {
    const hit = verified.get(token);
    if (hit) {
      // As jose's check below: expired once the clock reaches exp plus the tolerance.
      if (hit.expMs + toleranceMs <= clock()) {
        verified.delete(token);
        throw new InvalidTokenError("The access token has expired.");
      }
      const { tenant, owner } = hit.principal;
      if (hit.issuedMs <= (await revocations.notBefore(tenant, owner as string))) {
        throw new InvalidTokenError("The access token was revoked; sign in again.");
      }
      return hit.principal;
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header, jws) => {
          const claimed = decodeJwt(`${jws.protected}.${jws.payload}.`);
          if (typeof header.kid !== "string" || typeof claimed.tenant !== "string") {
            throw new InvalidTokenError("The token has no key id or tenant.");
          }
          const tenant = checkTenant(claimed.tenant);
          const key = await signingKeys.verificationKey(tenant, header.kid).catch((error: unknown) => {
            throw keysUnavailable(error);
          });
          if (!key) throw new InvalidTokenError("The token was signed by an unknown key.");
          return key;
        },
        {
          issuer,
          audience,
          algorithms: [SIGNING_ALGORITHM],
          requiredClaims: ["iss", "aud", "exp", "iat", "sub"],
          currentDate: new Date(clock()),
          clockTolerance: tolerance,
        },
      ));
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (isHoldfastError(error) && error.fault === "system") throw error;
      if (error instanceof joseErrors.JWTExpired)
        throw new InvalidTokenError("The access token has expired.");
      throw new InvalidTokenError("The access token is invalid.", { cause: error });
    }
    const tenant = payload.tenant as string;
    const owner = payload.sub as string;
    const issuedMs = typeof payload.iat_ms === "number" ? payload.iat_ms : (payload.iat ?? 0) * 1000;
    // `<=`: a token minted in the same millisecond as "log out everywhere" was issued "so far".
    if (issuedMs <= (await revocations.notBefore(tenant, owner))) {
      throw new InvalidTokenError("The access token was revoked; sign in again.");
    }
    let scopes: Scope[];
    try {
      scopes = endUserScopes(typeof payload.scope === "string" ? payload.scope.split(" ") : undefined);
    } catch (error) {
      throw new InvalidTokenError("The access token carries unknown scopes.", { cause: error });
    }
    const principal: Principal = Object.freeze({
      kind: "access_token",
      tenant,
      scopes: Object.freeze(scopes) as Scope[],
      keyId: null,
      owner,
      conversationId: typeof payload.cid === "string" ? payload.cid : null,
    });
    if (cacheSize > 0) {
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string);
      verified.set(token, { principal, expMs: (payload.exp ?? 0) * 1000, issuedMs });
    }
    return principal;
  }

  return Object.freeze({ issuer, audience, mint, verify });
}
