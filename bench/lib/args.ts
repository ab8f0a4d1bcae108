/**
 * Command-line flags of the benchmark scripts: one table per script gives each flag's type, default
 * and a line of help, so `--help` is generated from the same object `parseArgs` reads and cannot
 * drift from it. A bad flag exits with code 2, the message and the usage; `--help` exits 0.
 */
import { type ParseArgsOptionDescriptor, parseArgs } from "node:util";

/** One flag: `parseArgs`'s descriptor plus its help line (and the value's placeholder in the usage). */
export type BenchFlag = ParseArgsOptionDescriptor & { help: string; value?: string };
export type BenchFlags = Record<string, BenchFlag>;

/** What `parseBenchArgs` returns: `parseArgs`'s typed values for `T`. */
export type BenchValues<T extends BenchFlags> = ReturnType<
  typeof parseArgs<{ options: T; allowNegative: true }>
>["values"];

/** The usage text: the command, what it measures, then one line per flag with its default. */
export function benchUsage(command: string, summary: string, flags: BenchFlags): string {
  const rows = Object.entries(flags).map(([name, flag]) => {
    const value = flag.type === "string" ? ` <${flag.value ?? "value"}>` : "";
    const negatable = flag.type === "boolean" && flag.default === true ? ` (--no-${name} turns it off)` : "";
    const fallback =
      flag.default === undefined || flag.default === false || flag.default === true
        ? ""
        : ` [default: ${String(flag.default)}]`;
    return [`  --${name}${value}`, `${flag.help}${fallback}${negatable}`] as const;
  });
  rows.push(["  --help", "print this help and exit"]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = rows.map(([left, right]) => `${left.padEnd(width)}${right}`);
  return `Usage: ${command} [flags]\n\n${summary}\n\nFlags:\n${lines.join("\n")}\n`;
}

/**
 * Parses `args` (default: this process's) against `flags`. `--help`/`-h` prints the usage to stdout
 * and exits 0; an unknown flag or a missing value prints the error and the usage to stderr and exits 2.
 */
export function parseBenchArgs<T extends BenchFlags>(
  command: string,
  summary: string,
  flags: T,
  args: readonly string[] = process.argv.slice(2),
): BenchValues<T> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(benchUsage(command, summary, flags));
    process.exit(0);
  }
  try {
    return parseArgs({ args: [...args], options: flags, allowNegative: true }).values as BenchValues<T>;
  } catch (error) {
    process.stderr.write(`${command}: ${(error as Error).message}\n\n${benchUsage(command, summary, flags)}`);
    process.exit(2);
  }
}
