/**
 * One entry point for the server: `authenticate(headers)` reads `Authorization: Bearer <x>`
 * and dispatches on the credential's shape — `hf_…` API key, a JWT from Holdfast itself, or a
 * JWT from a configured identity provider — returning a Principal or throwing a typed 401.
 */
import { decodeJwt } from "jose";
import type { AccessTokens } from "./access-tokens.ts";
import type { ApiKeys } from "./api-keys.ts";
import { API_KEY_PREFIX } from "./api-keys.ts";
import { InvalidApiKeyError, InvalidTokenError } from "./errors.ts";
import type { OidcVerifier } from "./oidc.ts";
import type { Principal } from "./scopes.ts";

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface AuthenticatorOptions {
  apiKeys?: ApiKeys;
  accessTokens?: AccessTokens;
  oidc?: OidcVerifier;
}

export interface Authenticator {
  /** Principal for the request's credentials; `invalid_api_key`/`invalid_token` (401) otherwise. */
  authenticate(headers: HeaderBag): Promise<Principal>;
  /** Same, from the bare credential string. */
  authenticateCredential(credential: string): Promise<Principal>;
}

function authorizationHeader(headers: HeaderBag): string | undefined {
  const raw = headers.authorization ?? headers.Authorization;
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === "string" ? value : undefined;
}

/** The bearer credential of `Authorization: Bearer x` (case-insensitive scheme), or null. */
export function bearerCredential(headers: HeaderBag): string | null {
  const value = authorizationHeader(headers);
  if (value === undefined) return null;
  const match = /^Bearer[ \t]+([\x21-\x7e]{1,8192})[ \t]*$/i.exec(value);
  return match?.[1] ?? null;
}

const HOW = "Send 'Authorization: Bearer hf_…' (an API key) or 'Authorization: Bearer <access token>'.";

/**
 * Why a request has no bearer credential: none sent (OpenAI's words), or a header that is not
 * `Bearer <one credential>` — said as such, since "no API key" misleads a caller who sent one.
 * The header's content is never echoed: it may hold a secret.
 */
function missingCredential(headers: HeaderBag): InvalidApiKeyError {
  const value = authorizationHeader(headers);
  if (value === undefined || value.trim() === "") {
    return new InvalidApiKeyError(`You didn't provide an API key. ${HOW}`);
  }
  if (!/^Bearer(?:[ \t]|$)/i.test(value.trimStart())) {
    return new InvalidApiKeyError(`The Authorization header does not use the Bearer scheme. ${HOW}`);
  }
  return new InvalidApiKeyError(
    "The Authorization header is malformed: 'Bearer', a space, then one credential of up to 8192 " +
      `printable characters with no spaces or other text after it. ${HOW}`,
  );
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  async function authenticateCredential(credential: string): Promise<Principal> {
    if (credential.startsWith(API_KEY_PREFIX)) {
      if (!options.apiKeys) throw new InvalidApiKeyError();
      return options.apiKeys.authenticate(credential);
    }
    if (credential.split(".").length === 3) {
      let issuer: unknown;
      try {
        issuer = decodeJwt(credential).iss;
      } catch {
        throw new InvalidTokenError("The bearer token is not a valid JWT.");
      }
      if (options.accessTokens && issuer === options.accessTokens.issuer) {
        return options.accessTokens.verify(credential);
      }
      if (options.oidc && typeof issuer === "string" && options.oidc.handles(issuer)) {
        return options.oidc.verify(credential);
      }
      throw new InvalidTokenError("The token's issuer is not accepted here.");
    }
    throw new InvalidApiKeyError();
  }

  return Object.freeze({
    authenticateCredential,
    async authenticate(headers: HeaderBag): Promise<Principal> {
      const credential = bearerCredential(headers);
      if (credential === null) throw missingCredential(headers);
      return authenticateCredential(credential);
    },
  });
}
