/**
 * Tenant resolution, in one place. Until API keys exist every request belongs to the
 * `default` tenant; the security work replaces `resolveTenant` (from a key, a token, …) and
 * nothing else changes: routes only ever read `request.tenant`.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";

/** Decides which tenant a request acts for; throw a HoldfastError to refuse the request. */
export type TenantResolver = (request: FastifyRequest) => string | Promise<string>;

export const DEFAULT_TENANT = "default";

export const defaultTenantResolver: TenantResolver = () => DEFAULT_TENANT;

declare module "fastify" {
  interface FastifyRequest {
    /** The tenant this request acts for, set before any route runs ("" on public routes). */
    tenant: string;
  }
  interface FastifyContextConfig {
    /** A route that reads no tenant data (health checks): no tenant is resolved for it. */
    public?: boolean;
  }
}

/**
 * Decorates every request with `tenant`, resolved before body parsing so refusals are cheap.
 * Unknown routes resolve too, so probing paths without credentials learns nothing.
 */
export function registerTenantResolution(app: FastifyInstance, resolve: TenantResolver): void {
  app.decorateRequest("tenant", "");
  app.addHook("onRequest", async (request) => {
    if (request.routeOptions.config.public === true) return;
    request.tenant = await resolve(request);
  });
}
