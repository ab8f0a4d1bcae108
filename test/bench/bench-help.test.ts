/**
 * Every benchmark script answers `--help` with its usage (exit 0) and rejects an unknown flag with
 * the message and the usage (exit 2) before it seeds or measures anything.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { benchUsage } from "../../bench/lib/args.ts";

const BENCH = fileURLToPath(new URL("../../bench/", import.meta.url));
const SCRIPTS = [
  "run-all",
  "store",
  "context",
  "security",
  "interop",
  "migrate",
  "dashboard",
  "postgres-quick",
  "redis-quick",
  "sweep",
  "gateway",
] as const;

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, [`${BENCH}${script}.ts`, ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("benchmark scripts' flags", () => {
  for (const script of SCRIPTS) {
    test(`${script} --help prints its usage and exits 0`, () => {
      const result = run(script, ["--help"]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^Usage: /);
      assert.match(result.stdout, /--help/);
    });
  }

  for (const script of SCRIPTS.filter((s) => s !== "run-all")) {
    test(`${script} rejects an unknown flag with exit 2 and the usage`, () => {
      const result = run(script, ["--no-such-flag"]);
      assert.equal(result.status, 2, result.stdout);
      assert.match(result.stderr, /no-such-flag/);
      assert.match(result.stderr, /Usage: /);
    });
  }

  test("the usage lists every flag with its default and how to negate a default-on switch", () => {
    const text = benchUsage("bench:x", "What it measures.", {
      duration: { type: "string", default: "2000", value: "ms", help: "phase length" },
      encryption: { type: "boolean", default: true, help: "run the A/B" },
      json: { type: "boolean", default: false, help: "JSON output" },
    });
    assert.match(text, /^Usage: bench:x \[flags\]\n\nWhat it measures\.\n\nFlags:\n/);
    assert.match(text, /--duration <ms> +phase length \[default: 2000\]\n/);
    assert.match(text, /--encryption +run the A\/B \(--no-encryption turns it off\)\n/);
    assert.match(text, /--json +JSON output\n/);
  });
});
