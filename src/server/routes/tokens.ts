/**
 * End-user token endpoints: `POST /v1/auth/token` rotates a refresh token (OAuth 2.0's
 * `refresh_token` grant, JSON body) and `POST /v1/auth/logout` revokes every token of the caller.
 * Both are public routes as far as tenant resolution goes: the refresh token is the credential
 * of the first (the access token has usually expired by then), and the second authenticates its
 * bearer itself, since an end-user token has no `admin` scope for an unknown route. The checks
 * tenant resolution would run still run: headers (431) on both, before the body is read, and
 * logout's principal is set before the handler, so the per-key and per-user rate limits count it.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Security } from "../../security/create-security.ts";
import { PermissionDeniedError } from "../../security/errors.ts";
import { checkHeaders, checkNoControlChars } from "../../security/hostile-input.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import { checkOwner } from "../../store/validate.ts";

const tokenBody = {
  type: "object",
  properties: {
    grant_type: { type: "string", minLength: 1, maxLength: 64 },
    refresh_token: { type: "string", minLength: 1, maxLength: 512 },
  },
  required: ["grant_type", "refresh_token"],
  additionalProperties: false,
} as const;

const logoutBody = {
  type: "object",
  properties: { owner: { type: "string", minLength: 1, maxLength: 256 } },
  additionalProperties: false,
} as const;

/** The token response, in OAuth 2.0's field names (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  /** Seconds from now. */
  expires_in: number;
  refresh_token: string;
  /** Unix seconds: the sign-in's absolute end; refreshing never extends it. */
  refresh_token_expires_at: number;
}

/** The header limits every other route gets from the tenant resolver (`src/server/auth.ts`). */
async function headersChecked(request: FastifyRequest): Promise<void> {
  checkHeaders(request.headers);
}

/** Registers `/v1/auth/token` and `/v1/auth/logout` over the security library. */
export function registerTokenRoutes(app: FastifyInstance, security: Security): void {
  app.post<{ Body: { grant_type: string; refresh_token: string } }>(
    "/v1/auth/token",
    { schema: { body: tokenBody }, config: { public: true }, onRequest: headersChecked },
    async (request, reply): Promise<TokenResponse> => {
      if (request.body.grant_type !== "refresh_token") {
        throw new InvalidArgumentError("grant_type must be 'refresh_token'.", { param: "grant_type" });
      }
      const pair = await security.refreshTokens.refresh(request.body.refresh_token);
      // Tokens must never land in a shared cache (RFC 6749 §5.1).
      reply.header("cache-control", "no-store");
      return {
        access_token: pair.accessToken,
        token_type: "Bearer",
        expires_in: Math.max(0, pair.accessTokenExpiresAt - Math.floor(Date.now() / 1000)),
        refresh_token: pair.refreshToken,
        refresh_token_expires_at: Math.floor(pair.refreshTokenExpiresAt / 1000),
      };
    },
  );

  app.post<{ Body: { owner?: string } }>(
    "/v1/auth/logout",
    {
      schema: { body: logoutBody },
      config: { public: true },
      onRequest: async (request) => {
        checkHeaders(request.headers);
        // Known before the rate limits' preHandler: a logout takes a request token of its key or user.
        request.principal = await security.authenticator.authenticate(request.headers);
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new Error("logout ran without its onRequest authentication");
      let owner = principal.owner;
      if (owner === null) {
        // An API key acting for the tenant may sign one of its users out everywhere.
        if (!principal.scopes.includes("admin")) {
          throw new PermissionDeniedError("Logging out needs an end-user token or an admin key.");
        }
        owner = checkOwner(request.body.owner ?? null);
        if (owner !== null) checkNoControlChars(owner, "owner");
        if (owner === null) {
          throw new InvalidArgumentError("owner is required with an API key.", { param: "owner" });
        }
      } else if (request.body.owner !== undefined && request.body.owner !== owner) {
        throw new PermissionDeniedError("An end-user token can only log out its own user.");
      } else if (principal.conversationId !== null) {
        // A token handed to one conversation's context must not end every sign-in of its user.
        throw new PermissionDeniedError(
          "A conversation-scoped token cannot log its user out everywhere; use a token of the user.",
        );
      }
      const { families } = await security.refreshTokens.logoutEverywhere(principal.tenant, owner);
      return { object: "auth.logout", owner, revoked_families: families };
    },
  );
}
