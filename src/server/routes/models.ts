/** `/v1/models`: the models this gateway serves (configured routes and aliases). */
import type { FastifyInstance } from "fastify";
import { HoldfastError } from "../../store/errors.ts";

export interface ServedModel {
  id: string;
  ownedBy: string;
}

export function registerModelRoutes(app: FastifyInstance, models: () => readonly ServedModel[]): void {
  const toWire = (m: ServedModel) => ({ id: m.id, object: "model", created: 0, owned_by: m.ownedBy });
  app.get("/v1/models", async () => ({ object: "list", data: models().map(toWire) }));
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const found = models().find((m) => m.id === request.params.id);
    if (!found) throw modelNotFound(request.params.id);
    return toWire(found);
  });
}

export function modelNotFound(model: string): HoldfastError {
  return new HoldfastError("model_not_found", `The model '${model}' does not exist or is not served here.`, {
    param: "model",
  });
}
