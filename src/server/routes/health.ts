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
 * A dependency `/readyz` requires besides the store (`holdfast serve`: the rate-limit Redis, which
 * every rate-limited request needs): probed with the store, bounded by the same timeout.
 */
export interface ReadinessCheck {
  /** Named in the 503's message, e.g. `rate_limits.redis (Redis at 10.0.0.5:6379)`. */
  name: string;
  /** Why it cannot serve now (e.g. `is not connected`), or null once it answered. */
  problem(): Promise<string | null>;
}

/**
 * `GET /healthz`: liveness — the process is up and serving; names the store driver, nothing secret.
 * `GET /readyz`: readiness — 200 when the store answers a cheap read within READY_TIMEOUT_MS (and
 * every other check passes in that time), else 503 `unavailable` (never hangs), so a balancer
 * stops routing here while the store or a dependency is down.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  store: SessionStore,
  checks: readonly ReadinessCheck[] = [],
  readyTimeoutMs = READY_TIMEOUT_MS,
): void {
  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok", store: store.driverName }));
  app.get("/readyz", { config: { public: true } }, async () => {
    const problems = await Promise.all([
      bounded(storeProblem(store), readyTimeoutMs).then((p) =>
        p === null ? null : `the store (${store.driverName}) ${p}`,
      ),
      ...checks.map((check) =>
        bounded(check.problem(), readyTimeoutMs).then((p) => (p === null ? null : `${check.name} ${p}`)),
      ),
    ]);
    const found = problems.filter((p) => p !== null);
    if (found.length > 0) throw new UnavailableError(`Not ready: ${found.join("; ")}.`);
    return { status: "ready", store: store.driverName };
  });
}

/** Why the store cannot serve now, or null when it answered. */
function storeProblem(store: SessionStore): Promise<string | null> {
  const read = canReadHead(store)
    ? store.head(PROBE_TENANT, PROBE_SESSION)
    : store.get(PROBE_TENANT, PROBE_SESSION);
  return read.then(
    () => null,
    (error: unknown) =>
      isHoldfastError(error) && error.code === "not_found" ? null : `failed: ${messageOf(error)}`,
  );
}

/** `problem`, a rejection as `failed: …`, or a timeout once `timeoutMs` passed without an answer. */
async function bounded(problem: Promise<string | null>, timeoutMs: number): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  const answered = problem.catch((error: unknown) => `failed: ${messageOf(error)}`);
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
