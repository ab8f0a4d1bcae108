/**
 * Child processes of the gateway benchmark (the mock upstream, `holdfast serve`), each in its own
 * process group so that stopping it also stops anything it started, plus the temp directory they
 * share. Everything registered here is killed/removed on exit, also when the benchmark fails or
 * is interrupted.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root (bench/gateway/ is two levels down). */
export const ROOT = resolve(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "bin", "holdfast.js");
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function cleanupSync(): void {
  for (const child of live) killGroup(child, "SIGKILL");
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

process.on("exit", cleanupSync);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    cleanupSync();
    process.exit(130);
  });
}

/** A temp directory removed when the benchmark exits (whatever the reason). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Runs the holdfast CLI to completion and returns its stdout (throws with its stderr on failure). */
export function runCli(args: readonly string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8" });
}

export interface Child {
  readonly pid: number;
  /** The base URL it printed once listening (`http://127.0.0.1:port`). */
  readonly url: string;
  /** User + system CPU time of the process so far, in µs (from /proc). */
  cpuUs(): number;
  /** SIGTERM to the group, SIGKILL after 10 s; resolves once the process exited. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** CLI arguments after `bin/holdfast.js`. */
  args: readonly string[];
  /** Node flags before the script (e.g. `--cpu-prof`). */
  nodeFlags?: readonly string[];
  /** Matches the start-up line; group 1 is the base URL. */
  ready: RegExp;
  /** Also append everything the process prints to this file (e.g. its --trace-gc-nvp lines). */
  outputFile?: string;
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function procCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Starts `node [flags] bin/holdfast.js <args>` in a new process group; resolves once it printed `ready`. */
export async function startChild(options: StartOptions): Promise<Child> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), CLI, ...options.args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let output = "";
  const keep = (chunk: Buffer): void => {
    if (options.outputFile) appendFileSync(options.outputFile, chunk);
    output = (output + chunk.toString("utf8")).slice(-8192);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  void exited.then(() => live.delete(child));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${options.args[0]} did not start: ${output}`)),
      READY_TIMEOUT_MS,
    );
    const check = (): void => {
      const match = options.ready.exec(output);
      if (!match?.[1]) return;
      clearTimeout(timer);
      child.stdout?.off("data", check);
      done(match[1]);
    };
    child.stdout?.on("data", check);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${options.args[0]} exited (${code ?? signal}) before it was ready: ${output}`));
    });
  });
  const pid = child.pid!;
  return {
    pid,
    url,
    cpuUs: () => procCpuUs(pid),
    async stop() {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
