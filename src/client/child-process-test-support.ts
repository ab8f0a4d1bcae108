/**
 * Node-only test helpers for the tests that share one file storage between real processes (a
 * CLI and a daemon, two workers): the failures they guard against only happen across processes,
 * so each side runs as its own child Node process executing an inline ES module.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** `file` (relative to `dir`) as a quoted file URL, to `import` from a child's inline module source. */
export function importSpecifier(dir: string, file: string): string {
  return JSON.stringify(pathToFileURL(join(dir, file)).href);
}

/** Runs `source` (an ES module body) in a child Node process; resolves with its exit code and stderr. */
export function runModuleChild(
  source: string,
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source, "--", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** Runs `body` with a fresh temporary directory (named `<prefix>…`), removed afterwards whatever happens. */
export async function inTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
