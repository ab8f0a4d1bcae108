/** Spawns a TypeScript child script on this Node and collects its JSON output lines. */
import { type ChildProcess, spawn } from "node:child_process";

export type Line = Record<string, unknown>;

/** Starts `script` with `args`; `onLine` sees each JSON line as it arrives. */
export function startChild(
  script: string,
  args: string[],
  onLine: (line: Line) => void = () => {},
): ChildProcess {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let pending = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const l of lines) if (l) onLine(JSON.parse(l) as Line);
  });
  return child;
}

/** Runs `script` to completion (killed after `timeoutMs`); rejects on a non-zero exit. */
export function runChild(script: string, args: string[], timeoutMs = 60_000): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const lines: Line[] = [];
    let stderr = "";
    const child = startChild(script, args, (l) => lines.push(l));
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve(lines);
    });
  });
}
