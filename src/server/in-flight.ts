/**
 * Turns in flight, so a graceful shutdown can wait for them and, past its deadline, abort them:
 * an aborted turn cancels its upstream call and the engine commits its partial output as
 * `incomplete` with the usage spent so far.
 */
import type { FastifyInstance } from "fastify";

declare module "fastify" {
  interface FastifyInstance {
    /** Aborts every turn in flight (graceful shutdown past its deadline). Returns how many. */
    abortInFlight(reason?: string): number;
    /** Number of turns in flight. */
    inFlightCount(): number;
  }
}

export interface InFlight {
  /** A controller for one turn; call `done()` when the turn is over, however it ended. */
  track(): { controller: AbortController; done: () => void };
}

export function registerInFlight(app: FastifyInstance): InFlight {
  const active = new Set<AbortController>();
  app.decorate("abortInFlight", (reason = "server shutting down") => {
    const count = active.size;
    for (const controller of active) controller.abort(new Error(reason));
    return count;
  });
  app.decorate("inFlightCount", () => active.size);
  return {
    track() {
      const controller = new AbortController();
      active.add(controller);
      return { controller, done: () => active.delete(controller) };
    },
  };
}
