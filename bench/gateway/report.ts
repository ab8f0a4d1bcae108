/** The gateway benchmark's result shape, derived figures (added latency, TTFT overhead, targets) and text tables. */
import { fmt, formatTable } from "../lib/table.ts";
import type { GcFigures } from "./gc-trace.ts";
import type { OverheadResult } from "./overhead.ts";
import type { ProfileSummary } from "./profile.ts";
import type { ScenarioId } from "./setup.ts";

export interface ThroughputFigures {
  concurrency: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | null;
  /** CPU of each process per completed request (µs), from /proc over the phase. */
  holdfastCpuUsPerReq: number | null;
  mockCpuUsPerReq: number;
  /** CPU of the load generator (this process) per completed request (µs). */
  generatorCpuUsPerReq: number;
  load1: number;
  /** Share of the machine's CPU time the hypervisor gave to other guests during the phase (0–1; null: unknown). */
  steal: number | null;
}

export interface FixedRateFigures {
  rate: number;
  achievedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  ttftP50Ms: number | null;
  ttftP99Ms: number | null;
  errors: number;
  firstError: string | null;
  sendLagP99Ms: number;
  load1: number;
  /** As in ThroughputFigures. */
  steal: number | null;
  /** The served process's GC during this phase (--gc; null otherwise and for direct scenarios). */
  gc: GcFigures | null;
}

export interface ScenarioFigures {
  id: ScenarioId;
  name: string;
  throughput: ThroughputFigures;
  fixedRate: FixedRateFigures;
  /**
   * (3) only: share of the phase's window reads the served process answered from its window
   * cache (hits / (hits + misses), from `holdfast_window_cache_*`); null where not measured.
   */
  windowCacheHitRate: { closed: number | null; fixedRate: number | null } | null;
}

/** Above this send lag (p99, ms) of either side, an added-latency figure is machine noise. */
const MAX_SEND_LAG_MS = 5;

export interface Added {
  id: ScenarioId;
  /** Both sides kept their schedule and were below saturation; otherwise the difference is noise. */
  reliable: boolean;
  p50Ms: number;
  p99Ms: number;
  ttftP50Ms: number | null;
  ttftP99Ms: number | null;
}

export interface GatewayReport {
  startedAt: string;
  node: string;
  cpus: number;
  settings: Record<string, unknown>;
  switchedOn: string[];
  switchedOff: string[];
  scenarios: ScenarioFigures[];
  added: Added[];
  authOverhead: (OverheadResult & { shareOfTurnCpu: number | null }) | null;
  profile: (ProfileSummary & { scenario: string }) | null;
  targets: { what: string; target: string; measured: string; met: boolean | null }[];
  totalSeconds: number;
}

/** Added latency of (2) and (3) against (1) of the same kind (plain or streamed), at the fixed rate. */
export function addedLatency(scenarios: readonly ScenarioFigures[]): Added[] {
  const byId = new Map(scenarios.map((s) => [s.id, s]));
  const out: Added[] = [];
  for (const s of scenarios) {
    if (s.id.startsWith("direct")) continue;
    const base = byId.get(s.id.endsWith("-stream") ? "direct-stream" : "direct");
    if (!base) continue;
    const a = s.fixedRate;
    const b = base.fixedRate;
    out.push({
      id: s.id,
      // A generator that missed its schedule by more than this measured its own stalls.
      reliable:
        Math.max(a.sendLagP99Ms, b.sendLagP99Ms) <= MAX_SEND_LAG_MS &&
        s.throughput.reqPerSec >= a.rate &&
        base.throughput.reqPerSec >= b.rate,
      p50Ms: a.p50Ms - b.p50Ms,
      p99Ms: a.p99Ms - b.p99Ms,
      ttftP50Ms: a.ttftP50Ms !== null && b.ttftP50Ms !== null ? a.ttftP50Ms - b.ttftP50Ms : null,
      ttftP99Ms: a.ttftP99Ms !== null && b.ttftP99Ms !== null ? a.ttftP99Ms - b.ttftP99Ms : null,
    });
  }
  return out;
}

export function targets(report: Omit<GatewayReport, "targets">): GatewayReport["targets"] {
  const out: GatewayReport["targets"] = [];
  const conv = report.scenarios.find((s) => s.id === "conversation");
  if (conv) {
    out.push({
      what: "(3) conversations, non-streaming, req/s at concurrency 32",
      target: "≥ 8,000",
      measured: fmt(conv.throughput.reqPerSec, 0),
      met: conv.throughput.reqPerSec >= 8000,
    });
  }
  for (const a of report.added) {
    if (a.id.endsWith("-stream")) {
      if (a.ttftP50Ms === null) continue;
      out.push({
        what: `${a.id}: TTFT overhead p50 at ${report.settings.rate} req/s`,
        target: "≤ 1 ms",
        measured: `${fmt(a.ttftP50Ms, 2)} ms${a.reliable ? "" : " (unreliable)"}`,
        met: a.reliable ? a.ttftP50Ms <= 1 : a.ttftP50Ms > 1 ? false : null,
      });
      continue;
    }
    out.push({
      what: `${a.id}: added p50 / p99 at ${report.settings.rate} req/s`,
      target: "≤ 1 ms / ≤ 3 ms",
      measured: `${fmt(a.p50Ms, 2)} / ${fmt(a.p99Ms, 2)} ms${a.reliable ? "" : " (unreliable)"}`,
      met: a.reliable ? a.p50Ms <= 1 && a.p99Ms <= 3 : a.p50Ms > 1 ? false : null,
    });
  }
  const auth = report.authOverhead;
  if (auth) {
    out.push({
      what: "auth + rate limit, share of Holdfast CPU per (3) turn (p50)",
      target: "< 10%",
      measured:
        auth.shareOfTurnCpu === null
          ? `${fmt(auth.overhead.p50)} µs`
          : `${fmt(auth.overhead.p50)} µs = ${fmt(auth.shareOfTurnCpu * 100)}%`,
      met: auth.shareOfTurnCpu === null ? null : auth.shareOfTurnCpu < 0.1,
    });
  }
  return out;
}

const ms = (v: number | null): string => (v === null ? "–" : fmt(v, 2));
const pct = (v: number | null): string => (v === null ? "–" : `${fmt(v * 100, 1)}%`);

/** The human-readable report (Markdown tables). */
export function renderText(report: GatewayReport): string {
  const parts: string[] = [];
  parts.push(
    `Node ${report.node}, ${report.cpus} CPUs; ${report.settings.duration} s per phase; started ${report.startedAt}; whole run ${fmt(report.totalSeconds, 0)} s.`,
    `On: ${report.switchedOn.join("; ")}.`,
    `Off / not available: ${report.switchedOff.join("; ")}.`,
    "",
    `Throughput (closed loop, concurrency ${report.settings.concurrency}):`,
    formatTable(
      [
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "Holdfast CPU µs/req",
        "mock CPU µs/req",
        "generator CPU µs/req",
        "errors",
        "load1",
        "steal",
      ],
      report.scenarios.map((s) => [
        s.name,
        fmt(s.throughput.reqPerSec, 0),
        ms(s.throughput.p50Ms),
        ms(s.throughput.p99Ms),
        s.throughput.holdfastCpuUsPerReq === null ? "–" : fmt(s.throughput.holdfastCpuUsPerReq, 0),
        fmt(s.throughput.mockCpuUsPerReq, 0),
        fmt(s.throughput.generatorCpuUsPerReq, 0),
        String(s.throughput.errors),
        fmt(s.throughput.load1, 2),
        pct(s.throughput.steal),
      ]),
    ),
    "",
    `Latency at a fixed ${report.settings.rate} req/s (open loop, from the scheduled send time):`,
    formatTable(
      [
        "scenario",
        "achieved/s",
        "p50 ms",
        "p99 ms",
        "TTFT p50",
        "TTFT p99",
        "send lag p99",
        "errors",
        "load1",
        "steal",
      ],
      report.scenarios.map((s) => [
        // Above the closed-loop capacity the open loop measures queueing, not the gateway's cost.
        s.throughput.reqPerSec < s.fixedRate.rate ? `${s.name} (saturated)` : s.name,
        fmt(s.fixedRate.achievedPerSec, 0),
        ms(s.fixedRate.p50Ms),
        ms(s.fixedRate.p99Ms),
        ms(s.fixedRate.ttftP50Ms),
        ms(s.fixedRate.ttftP99Ms),
        ms(s.fixedRate.sendLagP99Ms),
        String(s.fixedRate.errors),
        fmt(s.fixedRate.load1, 2),
        pct(s.fixedRate.steal),
      ]),
    ),
    "(saturated): the rate is above what the scenario sustained at concurrency " +
      `${report.settings.concurrency}, so its latencies are mostly queueing.`,
    "steal: CPU time the hypervisor gave to other guests during the phase (/proc/stat); a few percent " +
      "already slows every process of the run.",
    "",
    "Added vs direct to the mock (same rate, same kind):",
    formatTable(
      ["scenario", "added p50 ms", "added p99 ms", "TTFT overhead p50", "TTFT overhead p99"],
      report.added.map((a) => [
        a.reliable ? a.id : `${a.id} (unreliable)`,
        ms(a.p50Ms),
        ms(a.p99Ms),
        ms(a.ttftP50Ms),
        ms(a.ttftP99Ms),
      ]),
    ),
  );
  const cached = report.scenarios.filter((s) => s.windowCacheHitRate);
  if (cached.length > 0) {
    parts.push(
      "",
      "Window cache of the served process (window reads answered without reading items; holdfast_window_cache_*):",
      formatTable(
        ["scenario", "closed loop hit rate", "fixed rate hit rate"],
        cached.map((s) => {
          const hit = s.windowCacheHitRate as { closed: number | null; fixedRate: number | null };
          return [s.name, pct(hit.closed), pct(hit.fixedRate)];
        }),
      ),
    );
  }
  const traced = report.scenarios.filter((s) => s.fixedRate.gc);
  if (traced.length > 0) {
    parts.push(
      "",
      `GC of the served process during the fixed-rate phase (--trace-gc-nvp; per completed request):`,
      formatTable(
        [
          "scenario",
          "scavenges",
          "pause p50 ms",
          "pause max ms",
          "pause total ms",
          "promoted KB/req",
          "survived KB/req",
          "mark-compacts (pause ms)",
        ],
        traced.map((s) => {
          const gc = s.fixedRate.gc as GcFigures;
          return [
            s.name,
            String(gc.scavenges),
            ms(gc.scavengePauseP50Ms),
            ms(gc.scavengePauseMaxMs),
            fmt(gc.scavengePauseTotalMs, 0),
            fmt(gc.promotedKbPerReq, 2),
            fmt(gc.survivedKbPerReq, 2),
            gc.markCompacts === 0
              ? "0"
              : `${gc.markCompacts} (${gc.markCompactPausesMs.map((p) => fmt(p, 1)).join(", ")})`,
          ];
        }),
      ),
    );
  }
  const auth = report.authOverhead;
  if (auth) {
    parts.push(
      "",
      `Auth + rate limit (in-process, GET /v1/models via app.inject, ${auth.samples} samples each):`,
      formatTable(
        ["server", "p50 µs", "p99 µs"],
        [
          ["with API key auth + rate limits", fmt(auth.secured.p50), fmt(auth.secured.p99)],
          ["without security", fmt(auth.plain.p50), fmt(auth.plain.p99)],
          ["overhead", fmt(auth.overhead.p50), fmt(auth.overhead.p99)],
        ],
      ),
    );
  }
  const prof = report.profile;
  if (prof) {
    parts.push(
      "",
      `CPU profile of Holdfast, ${prof.scenario}: ${fmt(prof.cpuUsPerTurn, 0)} µs CPU per turn under the profiler (${fmt(prof.sampledUsPerTurn, 0)} µs sampled busy) over ${prof.turns} turns; µs below are shares of the CPU time. By area:`,
      formatTable(
        ["area", "µs/turn", "share"],
        prof.areas.slice(0, 14).map((a) => [a.area, fmt(a.usPerTurn), `${fmt(a.share * 100)}%`]),
      ),
      "",
      "Top self-time frames:",
      formatTable(
        ["frame", "area", "µs/turn", "share"],
        prof.top.map((f) => [f.frame, f.area, fmt(f.usPerTurn), `${fmt(f.share * 100)}%`]),
      ),
    );
  }
  parts.push(
    "(unreliable): a side was saturated or its generator missed the schedule by > " +
      `${MAX_SEND_LAG_MS} ms at p99 (other work on the machine); read it as noise, not as the gateway's cost.`,
    "",
    "Targets:",
    formatTable(
      ["what", "target", "measured", "met"],
      report.targets.map((t) => [t.what, t.target, t.measured, t.met === null ? "?" : t.met ? "yes" : "NO"]),
    ),
  );
  return parts.join("\n");
}
