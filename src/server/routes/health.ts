import type { FastifyInstance } from "fastify";
import { isHoldfastError, UnavailableError } from "../../store/errors.ts";
import { canReadHead, type SessionStore } from "../../store/types.ts";

/** How long `/readyz` waits for the store: a probe must answer well within a balancer's timeout. */
export const READY_TIMEOUT_MS = 2_000;

// A session that never exists, in a reserved tenant no caller can create: looking it up is one
// indexed read on every driver, and `not_found` proves the store answered.
const PROBE_TENANT = "_hf_readyz";
const PROBE_SESSION = "conv_readyz_probe";

/**
 * `GET /healthz`: liveness — the process is up and serving; names the store driver, nothing secret.
 * `GET /readyz`: readiness — 200 when the store answers a cheap read within READY_TIMEOUT_MS,
 * else 503 `unavailable` (never hangs), so a balancer stops routing here while the store is down.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  store: SessionStore,
  readyTimeoutMs = READY_TIMEOUT_MS,
): void {
  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok", store: store.driverName }));
  app.get("/readyz", { config: { public: true } }, async () => {
    const problem = await storeProblem(store, readyTimeoutMs);
    if (problem !== null)
      throw new UnavailableError(`Not ready: the store (${store.driverName}) ${problem}.`);
    return { status: "ready", store: store.driverName };
  });
}

/** Why the store cannot serve now, or null when it answered. */
async function storeProblem(store: SessionStore, timeoutMs: number): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  const read = canReadHead(store)
    ? store.head(PROBE_TENANT, PROBE_SESSION)
    : store.get(PROBE_TENANT, PROBE_SESSION);
  const probe = read.then(
    () => null,
    (error: unknown) =>
      isHoldfastError(error) && error.code === "not_found" ? null : `failed: ${messageOf(error)}`,
  );
  try {
    return await Promise.race([probe, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
