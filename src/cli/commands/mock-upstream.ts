/**
 * `holdfast mock-upstream`: runs the deterministic OpenAI- and Anthropic-compatible fake upstream
 * (for tests, benchmarks and trying Holdfast without paying), until SIGINT/SIGTERM.
 */
import type { Command } from "commander";
import { createMockUpstream } from "../../mock-upstream/index.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import { inFlagNames } from "../flag-values.ts";
import { listenError } from "../listen-error.ts";

/** The options of createMockUpstream the flags set, for its errors. */
const FLAG_NAMES = {
  port: "--port",
  host: "--host",
  latencyMs: "--latency-ms",
  ttftMs: "--ttft-ms",
  tokensPerS: "--tokens-per-s",
  errorRate: "--error-rate",
  hangRate: "--hang-rate",
  cutStreamRate: "--cut-stream-rate",
  seed: "--seed",
  retryAfterMs: "--retry-after-ms",
} as const;

/** The library says "Mock upstream option errorRate must…"; the CLI says "--error-rate must…". */
const LIBRARY_PREFIX = /^Mock upstream options? (?=--)/;

interface MockUpstreamFlags {
  port: string;
  host: string;
  latencyMs: string;
  ttftMs: string;
  tokensPerS: string;
  errorRate: string;
  hangRate: string;
  cutStreamRate: string;
  seed: string;
  retryAfterMs: string;
}

function number(value: string, flag: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed)) {
    throw new InvalidArgumentError(`--${flag} must be a number; got '${value}'.`, { param: flag });
  }
  return parsed;
}

async function run(flags: MockUpstreamFlags): Promise<void> {
  const port = number(flags.port, "port");
  const mock = await createMockUpstream({
    port,
    host: flags.host,
    latencyMs: number(flags.latencyMs, "latency-ms"),
    ttftMs: number(flags.ttftMs, "ttft-ms"),
    tokensPerS: number(flags.tokensPerS, "tokens-per-s"),
    errorRate: number(flags.errorRate, "error-rate"),
    hangRate: number(flags.hangRate, "hang-rate"),
    cutStreamRate: number(flags.cutStreamRate, "cut-stream-rate"),
    seed: number(flags.seed, "seed"),
    retryAfterMs: number(flags.retryAfterMs, "retry-after-ms"),
  }).catch((error: unknown) => {
    throw listenError(inFlagNames(error, FLAG_NAMES, { dropPrefix: LIBRARY_PREFIX }), flags.host, port);
  });
  process.stdout.write(
    `holdfast mock upstream listening on ${mock.url} (OpenAI: ${mock.url}/v1, Anthropic: ${mock.url})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void mock.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  const stats = mock.stats();
  process.stdout.write(
    `holdfast mock upstream stopped: ${stats.requests} requests, ${stats.errors} errors, ${stats.hangs} hangs, ${stats.cuts} cuts, ${stats.aborted} aborted by clients\n`,
  );
}

/** Registers `holdfast mock-upstream`. */
export function registerMockUpstreamCommand(program: Command): void {
  program
    .command("mock-upstream")
    .description("Run a deterministic OpenAI- and Anthropic-compatible fake model server (offline, free).")
    .option("--port <port>", "port to listen on (0 = any free port)", "8787")
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--latency-ms <ms>", "delay before the response headers", "0")
    .option("--ttft-ms <ms>", "extra delay before the first streamed token", "0")
    .option("--tokens-per-s <n>", "stream pacing, tokens per second (0 = unpaced)", "0")
    .option("--error-rate <0..1>", "share of requests answered 500/503/429 with retry-after", "0")
    .option("--hang-rate <0..1>", "share of requests never answered", "0")
    .option("--cut-stream-rate <0..1>", "share of answers cut half-way (socket destroyed)", "0")
    .option("--seed <n>", "seed of the chaos decisions (same seed, same run)", "1")
    .option("--retry-after-ms <ms>", "retry-after sent with error answers", "1000")
    .addHelpText(
      "after",
      `
Routes: POST /v1/chat/completions, POST /v1/responses, GET /v1/models (OpenAI-compatible),
        POST /v1/messages (Anthropic-compatible). Stream and non-stream. Content is deterministic:
        it echoes the last user message; "call <tool>" in a user message makes it call that tool.

Examples:
  $ holdfast mock-upstream --port 8787
  $ holdfast mock-upstream --port 8787 --ttft-ms 200 --tokens-per-s 50
  $ holdfast mock-upstream --error-rate 0.2 --hang-rate 0.05 --cut-stream-rate 0.05 --seed 42
  $ curl -s localhost:8787/v1/chat/completions -d '{"model":"mock","messages":[{"role":"user","content":"hi"}]}'`,
    )
    .action((flags: MockUpstreamFlags) => run(flags));
}
