/** Runs the real `holdfast` binary (bin/holdfast.js, on the Node running the tests) for the CLI tests. */
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// The Node running the tests: under npm the pinned Node 24; run on Node 22.13 (DEVELOPERS.md), the CLI runs there too.
const NODE = process.execPath;
const BIN = path.join(ROOT, "bin/holdfast.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without any HOLDFAST_* the developer may have set, so tests see defaults. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("HOLDFAST_")) env[k] = v;
  return { ...env, ...extra };
}

/** Spawns the binary; `output()` answers what it has printed so far. */
export function spawnCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): { child: ChildProcessWithoutNullStreams; output: () => { stdout: string; stderr: string } } {
  const child = spawn(NODE, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env ?? {}),
    // Killed (SIGTERM) past it: a command that should have failed at once but kept running.
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  });
  const printed = { stdout: "", stderr: "" };
  child.stdout.on("data", (d) => {
    printed.stdout += d;
  });
  child.stderr.on("data", (d) => {
    printed.stderr += d;
  });
  return { child, output: () => ({ ...printed }) };
}

export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const { child, output } = spawnCli(args, options);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, ...output() }));
  });
}

export interface RunningServer {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code and everything printed once the process ends. */
  exited: Promise<CliResult>;
}

/** Starts `holdfast serve` and waits for its "listening on <url>" line (or its early exit). */
export function startServe(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const child = spawn(NODE, [BIN, "serve", ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env ?? {}),
  });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<CliResult>((resolve) => {
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.on("data", (d) => {
      stdout += d;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) resolve({ child, url: match[1], exited });
    });
    void exited.then((r) => reject(new Error(`serve exited early (${r.code}): ${r.stderr}${r.stdout}`)));
  });
}
