/**
 * `npm run bench` / `holdfast bench`: runs the benchmarks one after another (each in its own
 * process, so none disturbs another's figures) and prints their output. Names select a subset.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BENCHMARK_NAMES } from "../src/cli/commands/benchmark-names.ts";

const dir = fileURLToPath(new URL(".", import.meta.url));
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(
    "Usage: npm run bench -- [name …] [flags]\n\n" +
      "Runs the benchmarks one after another, each in its own process, and prints their output.\n" +
      `Names select a subset: ${BENCHMARK_NAMES.join(", ")} (default: all).\n` +
      "Flags are passed to every benchmark run (e.g. --json); each benchmark's own flags: npm run bench:<name> -- --help.\n",
  );
  process.exit(0);
}
const asked = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith("-"));
const unknown = asked.filter((name) => !(BENCHMARK_NAMES as readonly string[]).includes(name));
if (unknown.length > 0) {
  process.stderr.write(
    `Unknown benchmark(s): ${unknown.join(", ")}. Choose from: ${BENCHMARK_NAMES.join(", ")}.\n`,
  );
  process.exit(2);
}
let failed = 0;
for (const name of asked.length > 0 ? asked : BENCHMARK_NAMES) {
  process.stdout.write(`\n=== bench:${name} ===\n`);
  const run = spawnSync(process.execPath, [`${dir}${name}.ts`, ...passThrough], { stdio: "inherit" });
  if (run.status !== 0) failed += 1;
}
process.exitCode = failed > 0 ? 1 : 0;
