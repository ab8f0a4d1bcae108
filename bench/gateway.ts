/**
 * `npm run bench:gateway`: what the gateway adds on top of calling the upstream directly.
 *
 * The mock upstream and `holdfast serve` (SQLite store, API-key auth, per-key rate limits, o200k
 * token counting, the usage/cost ledger) run as separate processes; the load generator (undici,
 * keep-alive) runs here. For (1) direct to the mock, (2) Holdfast pass-through
 * (/v1/chat/completions) and (3) Holdfast with conversations (/v1/responses, 4,096 conversations
 * round-robin), each plain and streamed: req/s at concurrency 32, p50/p99 latency at a fixed
 * 1,000 req/s and the added latency vs (1), streaming time-to-first-token and its overhead. Then
 * the auth + rate-limit overhead in-process, and a CPU profile of (3) on a second, profiled
 * Holdfast process. Everything runs on one shared 2-core machine: the 1-minute load average is
 * recorded with each figure. With HOLDFAST_KEYS (or HOLDFAST_KEY_FILE) in the environment the
 * served store is encrypted at rest (the child inherits it), for an A/B of encryption.
 *
 *   node bench/gateway.ts [--duration 10] [--warmup 1] [--concurrency 32] [--rate 1000]
 *                         [--conversations 4096] [--only direct,conversation] [--no-profile]
 *                         [--profile-duration 5] [--profile-scenario conversation]
 *                         [--keep-profile <dir>] [--node-flags=<flags>] [--serve-output <file>]
 *                         [--gc] [--window-cache <size>] [--json]
 *
 * --keep-profile writes the profiled process's .cpuprofile files into <dir> (created if missing)
 * and keeps them, for a closer look than the summary gives (otherwise they go with the temp dir).
 * --gc runs the measured server with --trace-gc-nvp and reports its scavenges, their pauses, the
 * bytes they promote per request and its mark-compacts during each Holdfast fixed-rate phase.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { type Child, tempDir } from "./gateway/children.ts";
import { fileMark, readSince, summarizeGcTrace } from "./gateway/gc-trace.ts";
import { closedLoop, openLoop, type PhaseResult } from "./gateway/load.ts";
import { measureAuthOverhead } from "./gateway/overhead.ts";
import { type ProfileSummary, summarizeProfile } from "./gateway/profile.ts";
import {
  addedLatency,
  type FixedRateFigures,
  type GatewayReport,
  renderText,
  type ScenarioFigures,
  type ThroughputFigures,
  targets,
} from "./gateway/report.ts";
import {
  createConversations,
  type Fixture,
  prepare,
  probeMetrics,
  readWindowCache,
  SCENARIO_IDS,
  type ScenarioId,
  scenarios,
  startHoldfast,
  type WindowCacheCounts,
} from "./gateway/setup.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { stealMeter } from "./lib/host-steal.ts";
import { nowUs, percentile } from "./lib/stats.ts";

function usage(message: string): never {
  process.stderr.write(`bench:gateway: ${message}\n`);
  process.exit(2);
}

const flags = parseBenchArgs(
  "npm run bench:gateway --",
  "What the gateway adds on top of calling the mock upstream directly: req/s at a concurrency, latency at a fixed rate, streaming TTFT, auth + rate-limit overhead and a CPU profile of one scenario.",
  {
    duration: { type: "string", default: "10", value: "s", help: "seconds per measured phase" },
    warmup: {
      type: "string",
      default: "1",
      value: "s",
      help: "seconds of warm-up before each closed-loop phase",
    },
    concurrency: {
      type: "string",
      default: "32",
      value: "n",
      help: "requests in flight in the throughput phases",
    },
    rate: { type: "string", default: "1000", value: "req/s", help: "fixed rate of the latency phases" },
    conversations: {
      type: "string",
      default: "4096",
      value: "n",
      help: "conversations (3) spreads its turns over",
    },
    only: {
      type: "string",
      value: "ids",
      help: `scenarios to run, comma-separated: ${SCENARIO_IDS.join(", ")} [default: all]`,
    },
    profile: {
      type: "boolean",
      default: true,
      help: "profile one scenario on a second, --cpu-prof Holdfast process",
    },
    "profile-duration": { type: "string", default: "5", value: "s", help: "seconds of the profiled run" },
    "profile-scenario": {
      type: "string",
      default: "conversation",
      value: "id",
      help: "the scenario profiled",
    },
    "keep-profile": {
      type: "string",
      value: "dir",
      help: "keep the profiled process's .cpuprofile files in <dir>",
    },
    json: { type: "boolean", default: false, help: "print the figures as JSON" },
    "log-level": { type: "string", default: "warn", value: "level", help: "the served process's log level" },
    "node-flags": {
      type: "string",
      value: "flags",
      help: "extra Node/V8 flags for the served process, space-separated; write --node-flags=<flags> (e.g. --node-flags=--trace-gc-nvp)",
    },
    "serve-output": {
      type: "string",
      value: "file",
      help: "append everything the measured served process prints to <file> (with --node-flags=--trace-gc-nvp: its GC trace)",
    },
    "window-cache": {
      type: "string",
      value: "size",
      help: "the served config's gateway.window_cache (e.g. 64mb, off); default: the server's own default",
    },
    gc: {
      type: "boolean",
      default: false,
      help: "trace the measured server's GC (--trace-gc-nvp) and report scavenges, pauses, promoted KB per request and mark-compacts of each Holdfast fixed-rate phase",
    },
  },
);

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) usage(`--${name} must be a positive number; got '${raw}'.`);
  return value;
}

const settings = {
  duration: positive("duration", flags.duration),
  warmup: Number(flags.warmup ?? 1),
  concurrency: Math.round(positive("concurrency", flags.concurrency)),
  rate: positive("rate", flags.rate),
  conversations: Math.round(positive("conversations", flags.conversations)),
  profile: flags.profile !== false,
  profileDuration: positive("profile-duration", flags["profile-duration"]),
  profileScenario: (flags["profile-scenario"] ?? "conversation") as ScenarioId,
  keepProfile: flags["keep-profile"] ?? null,
  logLevel: flags["log-level"] ?? "warn",
  nodeFlags: (flags["node-flags"] ?? "").split(" ").filter(Boolean),
  serveOutput: flags["serve-output"],
  gc: flags.gc === true,
  windowCache: flags["window-cache"],
};
if (settings.gc) {
  if (!settings.nodeFlags.includes("--trace-gc-nvp")) settings.nodeFlags.push("--trace-gc-nvp");
  settings.serveOutput ??= join(tempDir("holdfast-bench-gc-"), "serve-output.log");
}
const only = flags.only ? new Set(flags.only.split(",").map((s) => s.trim())) : null;
for (const id of [...(only ?? []), settings.profileScenario]) {
  if (!(SCENARIO_IDS as readonly string[]).includes(id)) {
    usage(`--only/--profile-scenario: unknown scenario '${id}'; pick from ${SCENARIO_IDS.join(", ")}.`);
  }
}
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const toMs = (us: number): number => us / 1000;

/** Runs `run` while sampling the CPU time of the children; returns the result and CPU µs per completed request. */
async function withCpu(
  children: { holdfast: Child | null; mock: Child },
  run: () => Promise<PhaseResult>,
): Promise<{ result: PhaseResult; holdfast: number | null; mock: number; generator: number }> {
  const h0 = children.holdfast?.cpuUs() ?? 0;
  const m0 = children.mock.cpuUs();
  const g0 = process.cpuUsage();
  const result = await run();
  const g = process.cpuUsage(g0);
  const n = Math.max(1, result.totalOk);
  return {
    result,
    holdfast: children.holdfast ? (children.holdfast.cpuUs() - h0) / n : null,
    mock: (children.mock.cpuUs() - m0) / n,
    generator: (g.user + g.system) / n,
  };
}

async function runScenario(
  id: ScenarioId,
  fixture: Fixture,
  holdfast: Child,
  conversations: readonly string[],
): Promise<ScenarioFigures> {
  const scenario = scenarios(fixture.mock.url, holdfast.url, fixture.apiKey, conversations)[id];
  const direct = id.startsWith("direct");
  const children = { holdfast: direct ? null : holdfast, mock: fixture.mock };
  log(`${scenario.name}: ${settings.concurrency} concurrent for ${settings.duration} s…`);
  const conversational = id.startsWith("conversation");
  const cache0 = conversational ? await readWindowCache(holdfast.url) : null;
  const closedSteal = stealMeter();
  const closed = await withCpu(children, () =>
    closedLoop(scenario, settings.concurrency, settings.duration * 1000, settings.warmup * 1000),
  );
  const cache1 = conversational ? await readWindowCache(holdfast.url) : null;
  const throughput: ThroughputFigures = {
    concurrency: settings.concurrency,
    reqPerSec: closed.result.reqPerSec,
    p50Ms: toMs(percentile(closed.result.latencies, 50)),
    p99Ms: toMs(percentile(closed.result.latencies, 99)),
    errors: closed.result.errors,
    firstError: closed.result.firstError,
    holdfastCpuUsPerReq: closed.holdfast,
    mockCpuUsPerReq: closed.mock,
    generatorCpuUsPerReq: closed.generator,
    load1: loadavg()[0]!,
    steal: closedSteal(),
  };
  log(`  ${Math.round(throughput.reqPerSec)} req/s; now ${settings.rate} req/s for ${settings.duration} s…`);
  const traced = settings.gc && !direct ? settings.serveOutput : undefined;
  const mark = traced ? fileMark(traced) : 0;
  const openSteal = stealMeter();
  const open = await openLoop(scenario, settings.rate, settings.duration * 1000);
  const openStealShare = openSteal();
  const cache2 = conversational ? await readWindowCache(holdfast.url) : null;
  // The last GC lines of the phase may still be in the pipe from the served process.
  if (traced) await new Promise((resolve) => setTimeout(resolve, 200));
  const gc = traced ? summarizeGcTrace(readSince(traced, mark), open.ok) : null;
  const stream = scenario.firstTokenMarker !== null;
  const fixedRate: FixedRateFigures = {
    rate: settings.rate,
    achievedPerSec: open.reqPerSec,
    p50Ms: toMs(percentile(open.latencies, 50)),
    p99Ms: toMs(percentile(open.latencies, 99)),
    ttftP50Ms: stream ? toMs(percentile(open.ttfts, 50)) : null,
    ttftP99Ms: stream ? toMs(percentile(open.ttfts, 99)) : null,
    errors: open.errors,
    firstError: open.firstError,
    sendLagP99Ms: toMs(open.sendLagP99Us ?? 0),
    load1: loadavg()[0]!,
    steal: openStealShare,
    gc,
  };
  log(`  p50 ${fixedRate.p50Ms.toFixed(2)} ms, p99 ${fixedRate.p99Ms.toFixed(2)} ms`);
  for (const r of [closed.result, open])
    if (r.firstError) log(`  errors: ${r.errors}, first: ${r.firstError}`);
  const windowCacheHitRate = conversational
    ? { closed: hitRate(cache0, cache1), fixedRate: hitRate(cache1, cache2) }
    : null;
  return { id, name: scenario.name, throughput, fixedRate, windowCacheHitRate };
}

/** Hits over window reads between two readings of the counters; null without both or without reads. */
function hitRate(from: WindowCacheCounts | null, to: WindowCacheCounts | null): number | null {
  if (!from || !to) return null;
  const hits = to.hits - from.hits;
  const reads = hits + to.misses - from.misses;
  return reads > 0 ? hits / reads : null;
}

/** One scenario (default (3) non-streaming) against a second Holdfast process run under --cpu-prof. */
async function profileTurns(
  fixture: Fixture,
  conversations: readonly string[],
): Promise<ProfileSummary & { scenario: string }> {
  const dir = settings.keepProfile ?? tempDir("holdfast-bench-prof-");
  mkdirSync(dir, { recursive: true });
  const profiled = await startHoldfast(fixture, settings.logLevel, ["--cpu-prof", "--cpu-prof-dir", dir]);
  const scenario = scenarios(fixture.mock.url, profiled.url, fixture.apiKey, conversations)[
    settings.profileScenario
  ];
  let turns = 0;
  let from = 0;
  let to = 0;
  let cpu = 0;
  try {
    log(`profiling ${scenario.name} on a --cpu-prof Holdfast for ${settings.profileDuration} s…`);
    // Warm up first, then count only the samples of the measured window.
    await closedLoop(scenario, settings.concurrency, 1000, 0);
    const cpu0 = profiled.cpuUs();
    from = nowUs();
    turns = (await closedLoop(scenario, settings.concurrency, settings.profileDuration * 1000, 0)).totalOk;
    to = nowUs();
    cpu = profiled.cpuUs() - cpu0;
  } finally {
    // serve exits through process.exit on SIGTERM, which is when V8 writes the profile.
    await profiled.stop();
  }
  return { scenario: scenario.name, ...summarizeProfile({ dir, fromUs: from, toUs: to, turns, cpuUs: cpu }) };
}

async function main(): Promise<void> {
  const began = nowUs();
  const startedAt = new Date().toISOString();
  const ids = SCENARIO_IDS.filter((id) => !only || only.has(id));
  log(`preparing: mock upstream, API key, holdfast serve, ${settings.conversations} conversations…`);
  const fixture = await prepare(settings.windowCache);
  let holdfast: Child | null = await startHoldfast(
    fixture,
    settings.logLevel,
    settings.nodeFlags,
    settings.serveOutput,
  );
  const metricsOn = await probeMetrics(holdfast.url);
  const conversations = await createConversations(holdfast.url, fixture.apiKey, settings.conversations);
  const figures: ScenarioFigures[] = [];
  try {
    for (const id of ids) figures.push(await runScenario(id, fixture, holdfast, conversations));
  } finally {
    await holdfast.stop();
    holdfast = null;
  }
  const profile =
    settings.profile && !settings.profileScenario.startsWith("direct")
      ? await profileTurns(fixture, conversations)
      : null;
  await fixture.mock.stop();
  log("auth + rate limit overhead in-process…");
  const file = JSON.parse(readFileSync(fixture.configFile, "utf8")) as Record<string, unknown>;
  const overhead = await measureAuthOverhead(file);
  const turnCpu = figures.find((f) => f.id === "conversation")?.throughput.holdfastCpuUsPerReq ?? null;
  const encrypted = Boolean(process.env.HOLDFAST_KEYS || process.env.HOLDFAST_KEY_FILE);
  const partial = {
    startedAt,
    node: process.version,
    cpus: cpus().length,
    settings: { ...settings, only: only ? [...only] : null },
    switchedOn: [
      "API-key authentication (key created with `holdfast keys create`, verified on every request, 1 s cache)",
      "rate limiting (per key: requests and tokens per minute, in-memory backend; reserve before and settle after every model call)",
      "token counting at write time (o200k, every stored item)",
      "usage/cost ledger (response record with usage and cost_usd appended with every turn of (3))",
      "SQLite store (WAL), write-ahead append of the input and one atomic append of output + record per turn",
      `the turn engine's window cache (${settings.windowCache === undefined ? "the server's default size" : `gateway.window_cache: ${settings.windowCache}`})`,
      ...(encrypted ? ["encryption at rest (HOLDFAST_KEYS set: the serve process inherits it)"] : []),
      ...(metricsOn
        ? ["Prometheus metrics (HTTP, store, upstream and turn metrics; GET /metrics answers)"]
        : []),
      ...(settings.logLevel === "info" || settings.logLevel === "debug" || settings.logLevel === "trace"
        ? [`one log line per request (log level ${settings.logLevel})`]
        : []),
    ],
    switchedOff: [
      ...(metricsOn ? [] : ["metrics: GET /metrics does not answer on this build"]),
      ...(settings.logLevel === "info" || settings.logLevel === "debug" || settings.logLevel === "trace"
        ? []
        : [`per-request log lines (log level ${settings.logLevel}; --log-level info turns them on)`]),
      ...(encrypted ? [] : ["encryption at rest (no HOLDFAST_KEYS)"]),
      "OpenTelemetry export (no SDK registered: spans are no-ops)",
    ],
    scenarios: figures,
    added: addedLatency(figures),
    authOverhead: { ...overhead, shareOfTurnCpu: turnCpu === null ? null : overhead.overhead.p50 / turnCpu },
    profile,
    totalSeconds: (nowUs() - began) / 1e6,
  };
  const report: GatewayReport = { ...partial, targets: targets(partial) };
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderText(report)}\n`);
}

try {
  await main();
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench:gateway failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
