/**
 * The `holdfast` CLI. Thin by design: each command lives in `commands/<name>.ts`, parses its
 * options and calls library functions; no business logic here.
 */
import { Command, Help } from "commander";
import { exitOnClosedOutput } from "./closed-output.ts";
import { COMMANDS } from "./commands/index.ts";
import { refuseRepeatedFlags } from "./flag-values.ts";
import { EXIT_CODES, formatUsageError, runCommand, wantsJson } from "./run.ts";

const json = wantsJson(process.argv.slice(2));
// `holdfast sessions ls | head -1`: a quiet exit 141, not an EPIPE stack trace.
exitOnClosedOutput();

const program = new Command()
  .name("holdfast")
  .description("Durable, bounded, private sessions for AI agents, and a stateful OpenAI-compatible gateway.")
  .version(process.env.npm_package_version ?? "0.1.0", "-v, --version")
  // With --json, stderr stays one JSON line a program can parse.
  .showHelpAfterError(json ? false : "(run with --help for usage)")
  // Commander exits 1 on a usage error; ours is 2, like every other bad input (--help and
  // --version stay 0). Subcommands inherit both settings because they are made after this.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage))
  .configureOutput({ outputError: (text, write) => write(formatUsageError(text, json)) })
  // Commander's help does not tell a required option (`keys create --tenant`) from the others.
  .configureHelp({
    optionDescription(option) {
      const text = Help.prototype.optionDescription.call(this, option);
      return option.mandatory ? `${text} (required)` : text;
    },
  })
  .addHelpText(
    "after",
    `
Examples:
  $ holdfast serve --port 9000
  $ holdfast sessions ls --json
  $ holdfast sessions show conv_0123… --store sqlite:./data/holdfast.db

Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 not found, 4 conflict, 5 store unavailable;
130 interrupted (Ctrl-C; 143 SIGTERM), 141 output closed by its reader (| head).`,
  );

for (const register of COMMANDS) register(program);
// `--tenant a --tenant b` is refused rather than silently taken as b.
refuseRepeatedFlags(program);

await runCommand(() => program.parseAsync(process.argv), { json });
