/**
 * `holdfast bench [name...]`: runs the benchmarks shipped in bench/ (the same as `npm run bench`).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Argument, type Command } from "commander";
import { NotFoundError } from "../../store/errors.ts";
import { BENCHMARK_NAMES } from "./benchmark-names.ts";

// The same path from src/cli/commands/ and from the compiled dist/cli/commands/. bench/ is not in the
// npm package (TypeScript that Node will not run from node_modules), only in the repository.
const RUN_ALL = fileURLToPath(new URL("../../../bench/run-all.ts", import.meta.url));

export function registerBenchCommand(program: Command): void {
  program
    .command("bench")
    .description(`Run the benchmarks: ${BENCHMARK_NAMES.join(", ")} (default: all).`)
    .addArgument(new Argument("[names...]", "benchmarks to run").choices(BENCHMARK_NAMES))
    .option("--json", "ask each benchmark for JSON output")
    .addHelpText(
      "after",
      "\nEach benchmark runs in its own process; figures and targets are in docs/benchmarks*.md.\n\nExamples:\n  $ holdfast bench store\n  $ holdfast bench store context --json",
    )
    .action(async (names: string[], flags: { json?: boolean }) => {
      if (!existsSync(RUN_ALL)) {
        throw new NotFoundError(
          "The benchmarks are not part of the installed package: run them from a clone of the holdfast repository (npm install, then npm run bench).",
        );
      }
      const child = spawn(process.execPath, [RUN_ALL, ...names, ...(flags.json ? ["--json"] : [])], {
        stdio: "inherit",
      });
      const code = await new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
      process.exitCode = code;
    });
}
