/**
 * Reads a V8 `.cpuprofile` written by `holdfast serve` under `--cpu-prof` and turns the samples
 * taken while the load ran into CPU µs per turn: the top self-time frames and a split by area
 * (store, engine, server, security, Fastify, undici, Node internals…). V8 stamps samples with the
 * same monotonic clock as `process.hrtime`, so the load window recorded by the benchmark selects
 * them exactly (start-up and shutdown are left out).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./children.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  frame: string;
  area: string;
  /** Self CPU time per turn, µs. */
  usPerTurn: number;
  /** Share of the busy (non-idle) time in the window. */
  share: number;
}

export interface ProfileSummary {
  turns: number;
  /** CPU µs per turn of the profiled process (from /proc, profiler overhead included). */
  cpuUsPerTurn: number;
  /**
   * Sampled non-idle µs per turn. Higher than the CPU time on a busy machine: a sample counts
   * as busy while the thread was runnable but descheduled. Frames are scaled to `cpuUsPerTurn`.
   */
  sampledUsPerTurn: number;
  top: Frame[];
  areas: { area: string; usPerTurn: number; share: number }[];
}

/** Waiting in the event loop; `(program)` (native work outside JS: I/O, the HTTP parser) stays counted. */
const IDLE = "(idle)";

function location(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  return path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path;
}

/** The part of the system a frame belongs to, from its script URL. */
function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const path = location(url);
  if (path.startsWith("node:"))
    return path.startsWith("node:internal/deps/undici") ? "undici" : "node internals";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  const src = /^src\/([^/]+)(?:\/([^/]+))?/.exec(path);
  if (src)
    return src[1] === "engine" || src[1] === "store" ? `src/${src[1]}/${src[2] ?? ""}` : `src/${src[1]}`;
  return path;
}

export interface SummarizeOptions {
  dir: string;
  /** The load window, in `process.hrtime` µs. */
  fromUs: number;
  toUs: number;
  /** Turns completed in the window. */
  turns: number;
  /** CPU time the process used in the window (µs). */
  cpuUs: number;
  topN?: number;
}

/**
 * Summarises the main thread's profile in `dir`, counting the samples of the load window.
 * `--cpu-prof` writes one file per thread (the SQLite checkpoint worker has its own); the main
 * thread's is the one with the most samples.
 */
export function summarizeProfile(options: SummarizeOptions): ProfileSummary {
  const { dir, fromUs, toUs, turns, topN = 20 } = options;
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => ({ f, size: statSync(join(dir, f)).size }))
    .sort((a, b) => a.size - b.size)
    .at(-1)?.f;
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample's delta is the time since the previous one: charge it to this sample's frame.
    if (t < fromUs || t > toUs) continue;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const frames = new Map<string, { area: string; us: number }>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === IDLE && url === "") continue;
    busy += us;
    const area = areaOf(node);
    const name = `${functionName || "(anonymous)"}${url ? ` ${location(url)}:${lineNumber + 1}` : ""}`;
    const entry = frames.get(name) ?? { area, us: 0 };
    entry.us += us;
    frames.set(name, entry);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const cpuUsPerTurn = options.cpuUs / Math.max(1, turns);
  // Shares come from the samples, magnitudes from the measured CPU time.
  const perTurn = (us: number): number => (us / Math.max(1, busy)) * cpuUsPerTurn;
  return {
    turns,
    cpuUsPerTurn,
    sampledUsPerTurn: busy / Math.max(1, turns),
    top: [...frames]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, topN)
      .map(([frame, { area, us }]) => ({ frame, area, usPerTurn: perTurn(us), share: us / busy })),
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, usPerTurn: perTurn(us), share: us / busy })),
  };
}
