/**
 * The `holdfast` CLI. Thin by design: each command lives in `commands/<name>.ts`, parses its
 * options and calls library functions; no business logic here.
 */
import { Command } from "commander";
import { COMMANDS } from "./commands/index.ts";
import { runCommand } from "./run.ts";

const program = new Command()
  .name("holdfast")
  .description("Durable, bounded, private sessions for AI agents, and a stateful OpenAI-compatible gateway.")
  .version(process.env.npm_package_version ?? "0.1.0", "-v, --version")
  .showHelpAfterError("(run with --help for usage)")
  .addHelpText(
    "after",
    `
Examples:
  $ holdfast serve --port 9000
  $ holdfast sessions ls --json
  $ holdfast sessions show conv_0123… --store sqlite:./data/holdfast.db

Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 not found, 4 conflict, 5 store unavailable.`,
  );

for (const register of COMMANDS) register(program);

await runCommand(() => program.parseAsync(process.argv));
