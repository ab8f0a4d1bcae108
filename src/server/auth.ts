/**
 * Who is calling, in one place: the tenant resolver authenticates the request (API key,
 * Holdfast access token or OIDC token), checks the scope its route needs, and remembers the
 * principal for the owner checks end-user tokens require. In development mode (loopback, no
 * keys configured — announced at start-up) requests without a Holdfast credential act for the
 * `default` tenant with full access, until the first key appears.
 */
import type { FastifyRequest } from "fastify";
import { API_KEY_PREFIX, type ApiKeyInfo } from "../security/api-keys.ts";
import { bearerCredential } from "../security/authenticate.ts";
import type { Security } from "../security/create-security.ts";
import { checkHeaders } from "../security/hostile-input.ts";
import { developmentPrincipal, type Principal, requireScope, scopeForRoute } from "../security/scopes.ts";
import type { TenantResolver } from "./tenant.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the auth resolver; null on public routes and without auth. */
    principal: Principal | null;
  }
}

export interface AuthResolverOptions {
  security: Security;
  /**
   * Requests without a Holdfast credential act for `default` with full access, until an API key
   * exists: a key created while the server runs (`holdfast keys create`, another instance) ends
   * development mode within `keyCheckIntervalMs`, for good.
   */
  development: boolean;
  /** How often development mode looks for a new key. Default 1000 ms (revocations reach every instance as fast). */
  keyCheckIntervalMs?: number;
}

/** Whether a credential is one Holdfast issues (an API key or a JWT), as opposed to a placeholder. */
function looksLikeCredential(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX) || credential.split(".").length === 3;
}

export function createAuthResolver(options: AuthResolverOptions): TenantResolver {
  const { security } = options;
  const interval = options.keyCheckIntervalMs ?? 1000;
  let development = options.development;
  // The caller decided on development mode from a fresh look at the keys: the first re-check is due later.
  let checkedAt = Date.now();
  let checking: Promise<void> | null = null;
  /** Whether development mode still holds: once a key exists, every request needs a credential. */
  const stillDevelopment = async (request: FastifyRequest): Promise<boolean> => {
    if (development && Date.now() - checkedAt >= interval) {
      // One look at a time; concurrent requests wait for it.
      checking ??= hasActiveApiKeys(security)
        .then((keyed) => {
          checkedAt = Date.now();
          if (keyed && development) {
            development = false;
            request.log.warn("an API key exists now: development mode ended, requests need a credential");
          }
        })
        .finally(() => {
          checking = null;
        });
      await checking;
    }
    return development;
  };
  return async (request: FastifyRequest) => {
    checkHeaders(request.headers);
    const credential = bearerCredential(request.headers);
    let principal: Principal;
    // SDKs insist on sending some key; in development mode a placeholder such as "unused" is fine.
    if ((credential === null || !looksLikeCredential(credential)) && (await stillDevelopment(request))) {
      principal = developmentPrincipal();
    } else {
      principal = await security.authenticator.authenticate(request.headers);
    }
    const scope = scopeForRoute(request.method, request.url);
    if (scope) requireScope(principal, scope);
    request.principal = principal;
    return principal.tenant;
  };
}

/** Whether any API key is active, in any tenant (decides between development and secure mode). */
export async function hasActiveApiKeys(security: Security, now = Date.now()): Promise<boolean> {
  for await (const record of security.records.list<ApiKeyInfo>("api_key")) {
    const key = record.data;
    if (!key.revoked && (key.expiresAt === null || key.expiresAt > now)) return true;
  }
  return false;
}
