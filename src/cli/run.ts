/**
 * Runs the CLI and maps failures to documented exit codes: 2 bad usage/input, 3 not found,
 * 4 conflict, 5 unavailable, 1 anything else. Errors print one line, no stack, unless DEBUG.
 */
import { isHoldfastError } from "../store/errors.ts";

export const EXIT_CODES = Object.freeze({
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  unavailable: 5,
});

/** The code printed with commander's own usage errors (unknown option, missing argument…). */
const USAGE_ERROR_CODE = "invalid_argument";

export function exitCodeFor(error: unknown): number {
  if (!isHoldfastError(error)) return EXIT_CODES.failure;
  if (error.code === "not_found") return EXIT_CODES.notFound;
  if (error.code.endsWith("conflict")) return EXIT_CODES.conflict;
  if (error.code === "unavailable") return EXIT_CODES.unavailable;
  return error.fault === "caller" ? EXIT_CODES.usage : EXIT_CODES.failure;
}

/**
 * Commander's `error: unknown option '--x'` (and any `(Did you mean …?)` line after it) in the
 * CLI's format, `holdfast: <message> [<code>]`. Used as commander's `outputError`.
 */
export function formatUsageError(text: string): string {
  const [first = "", ...rest] = text
    .replace(/^error: /, "")
    .trimEnd()
    .split("\n");
  return `${[`holdfast: ${first} [${USAGE_ERROR_CODE}]`, ...rest].join("\n")}\n`;
}

export async function runCommand(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    const code = isHoldfastError(error) ? ` [${error.code}]` : "";
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`holdfast: ${message}${code}\n`);
    if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCodeFor(error);
  }
}
