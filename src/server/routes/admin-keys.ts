/**
 * `/v1/admin/keys`: API keys of the caller's tenant — create, list, revoke, rotate. Needs the
 * `admin` scope; an admin key manages its own tenant only (the CLI, with direct store access,
 * manages any tenant). Secrets are shown once, at creation or rotation.
 */
import type { FastifyInstance } from "fastify";
import type { Security } from "../../security/create-security.ts";
import { NotFoundError } from "../../store/errors.ts";

const keyIdParams = {
  type: "object",
  properties: { key_id: { type: "string", pattern: "^key_[0-9a-f]{24}$" } },
  required: ["key_id"],
} as const;

const createBody = {
  type: "object",
  additionalProperties: false,
  required: ["scopes"],
  properties: {
    scopes: { type: "array", items: { type: "string", maxLength: 64 }, minItems: 1, maxItems: 8 },
    name: { type: "string", maxLength: 128 },
    // Unix seconds, up to the last instant a Date can hold (as for conversations' expires_at).
    expires_at: { type: "integer", minimum: 1, maximum: 8_640_000_000_000 },
  },
} as const;

const rotateBody = {
  type: "object",
  additionalProperties: false,
  properties: { grace_seconds: { type: "integer", minimum: 0, maximum: 604_800 } },
} as const;

export function registerAdminKeyRoutes(app: FastifyInstance, security: Security): void {
  /** A key of another tenant is indistinguishable from a missing one. */
  const ownKey = async (tenant: string, keyId: string) => {
    const key = await security.apiKeys.get(keyId).catch(() => null);
    if (!key || key.tenant !== tenant) throw new NotFoundError(`No API key '${keyId}'.`, { param: "key_id" });
    return key;
  };

  app.post<{ Body: { scopes: string[]; name?: string; expires_at?: number } }>(
    "/v1/admin/keys",
    { schema: { body: createBody } },
    async (request) =>
      security.apiKeys.create({
        tenant: request.tenant,
        scopes: request.body.scopes,
        ...(request.body.name ? { name: request.body.name } : {}),
        ...(request.body.expires_at ? { expiresAt: request.body.expires_at * 1000 } : {}),
      }),
  );

  app.get("/v1/admin/keys", async (request) => ({
    object: "list",
    data: await security.apiKeys.list(request.tenant),
  }));

  app.post<{ Params: { key_id: string } }>(
    "/v1/admin/keys/:key_id/revoke",
    { schema: { params: keyIdParams } },
    async (request) => {
      await ownKey(request.tenant, request.params.key_id);
      return security.apiKeys.revoke(request.params.key_id);
    },
  );

  app.post<{ Params: { key_id: string }; Body: { grace_seconds?: number } }>(
    "/v1/admin/keys/:key_id/rotate",
    { schema: { params: keyIdParams, body: rotateBody } },
    async (request) => {
      await ownKey(request.tenant, request.params.key_id);
      const grace = request.body.grace_seconds;
      return security.apiKeys.rotate(
        request.params.key_id,
        grace === undefined ? {} : { graceMs: grace * 1000 },
      );
    },
  );
}
