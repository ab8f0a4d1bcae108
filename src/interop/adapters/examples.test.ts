import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
// The examples import "holdfast/..." as an app does; this condition resolves it to src/, not dist/.
const FROM_SOURCES = "--conditions=holdfast-source";

const EXAMPLES: Array<[file: string, expected: RegExp[]]> = [
  ["examples/agents-session.ts", [/^turn 1: Weather report: sunny in Oslo$/m, /^agents-session: ok$/m]],
  ["examples/ai-sdk-chat.ts", [/^assistant: Goodbye!$/m, /^ai-sdk-chat: ok$/m]],
  ["examples/langchain-history.ts", [/^answer: You are Ada\.$/m, /^langchain-history: ok$/m]],
  [
    "examples/express-session.ts",
    [/^session: {"user":"ada","theme":"dark","cart":\["book"\]}$/m, /^express-session: ok$/m],
  ],
];

function runExample(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FROM_SOURCES, file], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("adapter examples run offline", () => {
  for (const [file, expected] of EXAMPLES) {
    it(file, async () => {
      const { code, stdout, stderr } = await runExample(file);
      assert.equal(code, 0, `${file} exited ${code}\n${stderr}`);
      for (const line of expected) assert.match(stdout, line);
    });
  }
});
