/** Options of the mock upstream, validated and frozen, plus its seeded random source. */
import { InvalidArgumentError } from "../store/errors.ts";

export interface MockUpstreamOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Delay before the response headers. Default 0. */
  latencyMs?: number;
  /** Extra delay before the first streamed content event. Default 0. */
  ttftMs?: number;
  /** Stream pacing (and non-stream duration); 0 = as fast as possible. Default 0. */
  tokensPerS?: number;
  /** Share of requests answered 500/503/429 (with retry-after). Default 0. */
  errorRate?: number;
  /** Share of requests never answered. Default 0. */
  hangRate?: number;
  /** Share of requests whose body stops half-way with the socket destroyed. Default 0. */
  cutStreamRate?: number;
  /** Seed of the chaos decisions, so a run can be replayed. Default 1. */
  seed?: number;
  /** Value of retry-after on error answers, in ms (sent as `retry-after` seconds and `retry-after-ms`). Default 1000. */
  retryAfterMs?: number;
  /** Model ids listed by /v1/models. Default ["mock", "mock-large"]. */
  models?: string[];
  /**
   * Scenarios consumed one per request before chaos applies (tests): `ok`, `error:<status>`,
   * `hang`, `cut:<frames>` (destroy the socket after that many body frames), `context` (a
   * context-length error in the API's own shape). A request header `x-mock-scenario` does the same.
   */
  script?: string[];
}

export type ResolvedMockOptions = Readonly<Required<Omit<MockUpstreamOptions, "script">>> & {
  script: readonly string[];
};

const SCENARIO = /^(ok|hang|context|error:\d{3}|cut:\d+)$/;

export function resolveMockOptions(input: MockUpstreamOptions = {}): ResolvedMockOptions {
  const options = {
    port: input.port ?? 0,
    host: input.host ?? "127.0.0.1",
    latencyMs: input.latencyMs ?? 0,
    ttftMs: input.ttftMs ?? 0,
    tokensPerS: input.tokensPerS ?? 0,
    errorRate: input.errorRate ?? 0,
    hangRate: input.hangRate ?? 0,
    cutStreamRate: input.cutStreamRate ?? 0,
    seed: input.seed ?? 1,
    retryAfterMs: input.retryAfterMs ?? 1000,
    models: input.models ?? ["mock", "mock-large"],
    script: input.script ?? [],
  };
  for (const key of ["port", "latencyMs", "ttftMs", "tokensPerS", "retryAfterMs", "seed"] as const) {
    const value = options[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(
        `Mock upstream option ${key} must be a number >= 0; got ${JSON.stringify(value)}.`,
        { param: key },
      );
    }
  }
  if (!Number.isInteger(options.port) || options.port > 65_535) {
    throw new InvalidArgumentError(
      `Mock upstream option port must be a whole number from 0 to 65535; got ${options.port}.`,
      { param: "port" },
    );
  }
  for (const key of ["errorRate", "hangRate", "cutStreamRate"] as const) {
    const value = options[key];
    if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
      throw new InvalidArgumentError(
        `Mock upstream option ${key} must be between 0 and 1; got ${JSON.stringify(value)}.`,
        { param: key },
      );
    }
  }
  if (options.errorRate + options.hangRate + options.cutStreamRate > 1) {
    throw new InvalidArgumentError(
      "Mock upstream options errorRate + hangRate + cutStreamRate must not exceed 1.",
      { param: "errorRate" },
    );
  }
  for (const scenario of options.script) {
    if (!SCENARIO.test(scenario)) {
      throw new InvalidArgumentError(
        `Mock upstream script entry '${scenario}' is not ok, hang, context, error:<status> or cut:<n>.`,
        {
          param: "script",
        },
      );
    }
  }
  return Object.freeze({
    ...options,
    models: Object.freeze([...options.models]) as string[],
    script: Object.freeze([...options.script]),
  });
}

export function isScenario(value: string): boolean {
  return SCENARIO.test(value);
}

/** mulberry32: tiny, fast, good enough for chaos decisions; same seed, same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
