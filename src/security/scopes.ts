/** Scopes, principals and the checks routes apply to them. */
import { InvalidArgumentError, sessionNotFound } from "../store/errors.ts";
import { PermissionDeniedError } from "./errors.ts";

/** Every scope a credential can carry; `admin` implies all the others within its tenant. */
export const SCOPES = ["conversations:read", "conversations:write", "responses", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Scopes an end-user token gets when none are asked for (never `admin`). */
export const END_USER_SCOPES: readonly Scope[] = Object.freeze([
  "conversations:read",
  "conversations:write",
  "responses",
]);

export const PRINCIPAL_KINDS = ["api_key", "access_token", "oidc", "development"] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

/** Who is calling, as established by authentication. */
export interface Principal {
  kind: PrincipalKind;
  tenant: string;
  scopes: readonly Scope[];
  /** API key id (`key_…`) for `api_key` principals, else null. */
  keyId: string | null;
  /** End user (`sub`) for token principals: they may only touch sessions they own. */
  owner: string | null;
  /** When set, the token is limited to this one conversation. */
  conversationId: string | null;
}

export function isScope(value: unknown): value is Scope {
  return SCOPES.includes(value as Scope);
}

/** Parses `a,b` or `["a","b"]` into scopes; throws naming the bad one. */
export function parseScopes(input: string | readonly string[]): Scope[] {
  const list = typeof input === "string" ? input.split(/[\s,]+/).filter(Boolean) : [...input];
  const out: Scope[] = [];
  for (const scope of list) {
    if (!isScope(scope)) {
      // A bad scope name is a bad argument (400), not a denied permission.
      throw new InvalidArgumentError(
        `Unknown scope '${String(scope).slice(0, 64)}'; use ${SCOPES.join(", ")}.`,
        {
          param: "scopes",
        },
      );
    }
    if (!out.includes(scope)) out.push(scope);
  }
  return out;
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes("admin");
}

/** Throws `permission_denied` (403) unless the principal holds `scope` (or `admin`). */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) {
    throw new PermissionDeniedError(`This credential lacks the '${scope}' scope.`);
  }
}

/**
 * Throws unless a token principal may touch this session: another owner's session is `not_found`
 * with the store's own words for a missing one (a 403 would confirm that an id a user came by is
 * live), and a conversation-scoped token reaching another of its user's conversations is
 * `permission_denied`. API keys reach the whole tenant. Call after loading the session (the
 * tenant check itself is the store's job).
 */
export function requireSessionAccess(
  principal: Principal,
  session: { id: string; owner: string | null },
): void {
  // Owner first: a conversation-scoped token must not learn either that another user's id exists.
  if (principal.owner !== null && session.owner !== principal.owner) throw sessionNotFound(session.id);
  if (principal.conversationId !== null && principal.conversationId !== session.id) {
    throw new PermissionDeniedError("This token is limited to another conversation.");
  }
}

/**
 * The principal of the explicit development mode (loopback bind, no keys configured): full
 * access to one tenant. The server must only use it after announcing development mode.
 */
export function developmentPrincipal(tenant = "default"): Principal {
  return Object.freeze({
    kind: "development",
    tenant,
    scopes: Object.freeze(["admin"]) as Scope[],
    keyId: null,
    owner: null,
    conversationId: null,
  });
}

/**
 * The scope a route needs, from its method and path (query string ignored). Deny by default:
 * an unknown path needs `admin`. `null` means any authenticated principal (e.g. `/v1/models`).
 *
 * | path                                   | GET/HEAD             | other methods         |
 * |----------------------------------------|----------------------|-----------------------|
 * | /v1/conversations…                     | conversations:read   | conversations:write   |
 * | /v1/responses…, /v1/chat/completions   | responses            | responses             |
 * | /v1/models…                            | (any)                | admin                 |
 * | /v1/admin…, anything else              | admin                | admin                 |
 */
export function scopeForRoute(method: string, url: string): Scope | null {
  const path = (url.split("?")[0] ?? "").replace(/\/+$/, "");
  const read = method === "GET" || method === "HEAD";
  const under = (prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);
  if (under("/v1/conversations")) return read ? "conversations:read" : "conversations:write";
  if (under("/v1/responses") || under("/v1/chat/completions")) return "responses";
  if (under("/v1/models")) return read ? null : "admin";
  return "admin";
}
