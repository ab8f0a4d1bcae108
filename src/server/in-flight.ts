/**
 * Turns in flight, so a graceful shutdown can wait for them and, past its deadline, abort them:
 * an aborted turn cancels its upstream call and the engine commits its partial output as
 * `incomplete` with the usage spent so far.
 */
import type { FastifyInstance, FastifyReply } from "fastify";

declare module "fastify" {
  interface FastifyInstance {
    /** Aborts every turn in flight (graceful shutdown past its deadline). Returns how many. */
    abortInFlight(reason?: string): number;
    /** Number of turns in flight. */
    inFlightCount(): number;
    /** Resolves once no turn is in flight (at once if none is). */
    inFlightSettled(): Promise<void>;
  }
}

export interface InFlight {
  /** A controller for one turn; call `done()` when the turn is over, however it ended. */
  track(): { controller: AbortController; done: () => void };
}

export function registerInFlight(app: FastifyInstance): InFlight {
  const active = new Set<AbortController>();
  let waiters: (() => void)[] = [];
  app.decorate("abortInFlight", (reason = "server shutting down") => {
    const count = active.size;
    for (const controller of active) controller.abort(new Error(reason));
    return count;
  });
  app.decorate("inFlightCount", () => active.size);
  app.decorate("inFlightSettled", () =>
    active.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
  );
  // Closing waits for every connection to end, and a keep-alive connection whose answer went out
  // after close() began stays open until its client or the keep-alive timeout (72 s) ends it:
  // once closing, each finished answer closes the connections left idle.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // A callback hook, not an async one: it runs for every request and has nothing to await.
  app.addHook("onResponse", (_request, _reply, done) => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
    done();
  });
  return {
    track() {
      const controller = new AbortController();
      active.add(controller);
      return {
        controller,
        done: () => {
          active.delete(controller);
          if (active.size > 0 || waiters.length === 0) return;
          const settled = waiters;
          waiters = [];
          for (const resolve of settled) resolve();
        },
      };
    },
  };
}

/**
 * Aborts `controller` when the client goes away before its answer was sent (a non-streamed turn:
 * the upstream call is cancelled at once instead of running, and being paid for, for nobody).
 * Returns the function that stops listening.
 */
export function abortOnDisconnect(reply: FastifyReply, controller: AbortController): () => void {
  const raw = reply.raw;
  const onClose = (): void => {
    if (!raw.writableFinished) controller.abort(new Error("the client disconnected"));
  };
  raw.once("close", onClose);
  return () => raw.off("close", onClose);
}
