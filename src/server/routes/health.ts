import type { FastifyInstance } from "fastify";
import type { SessionStore } from "../../store/types.ts";

/** `GET /healthz`: the process is up and serving; names the store driver, nothing secret. */
export function registerHealthRoutes(app: FastifyInstance, store: SessionStore): void {
  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok", store: store.driverName }));
}
