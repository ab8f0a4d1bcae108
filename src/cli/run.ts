/**
 * Runs the CLI and maps failures to documented exit codes: 2 bad usage/input, 3 not found,
 * 4 conflict, 5 unavailable, 130/143 interrupted, 1 anything else. Errors print one line, no stack, unless DEBUG.
 */
import { isHoldfastError } from "../store/errors.ts";
import { InterruptedError } from "./interrupt.ts";

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

/** The code printed with an unexpected error (not a HoldfastError): exit 1, its message kept. */
const INTERNAL_ERROR_CODE = "internal_error";

/** The code printed when Ctrl-C (or SIGTERM) stopped a job: exit 130 (143), see interrupt.ts. */
const INTERRUPTED_CODE = "interrupted";

export function exitCodeFor(error: unknown): number {
  if (error instanceof InterruptedError) return error.exitCode;
  if (!isHoldfastError(error)) return EXIT_CODES.failure;
  if (error.code === "not_found") return EXIT_CODES.notFound;
  if (error.code.endsWith("conflict")) return EXIT_CODES.conflict;
  if (error.code === "unavailable") return EXIT_CODES.unavailable;
  return error.fault === "caller" ? EXIT_CODES.usage : EXIT_CODES.failure;
}

/** Whether the command line asks for JSON (`--json` before any `--`): its errors are JSON then too. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * One error on stderr: `holdfast: <message> [<code>]` (then the error's `detail` for the operator,
 * e.g. where an archive lies, on its own line), or with `--json` one line a program can parse,
 * `{"error":{"code","message","param"}}` (the HTTP API's error fields, plus `detail` when there is
 * one; `hint` for commander's `(Did you mean …?)`).
 */
function errorText(
  error: { code: string; message: string; param?: string | null; hint?: string; detail?: string | null },
  json: boolean,
): string {
  const { code, message, param = null, hint, detail } = error;
  if (json) {
    return `${JSON.stringify({ error: { code, message, param, ...(detail ? { detail } : {}), ...(hint ? { hint } : {}) } })}\n`;
  }
  return `holdfast: ${message} [${code}]\n${detail ? `  ${detail}\n` : ""}${hint ? `${hint}\n` : ""}`;
}

/**
 * Commander's `error: unknown option '--x'` (and any `(Did you mean …?)` line after it) in the
 * CLI's format, `holdfast: <message> [<code>]`. Used as commander's `outputError`.
 */
export function formatUsageError(text: string, json = false): string {
  const [first = "", ...rest] = text
    .replace(/^error: /, "")
    .trimEnd()
    .split("\n");
  const hint = rest.join("\n");
  return errorText({ code: USAGE_ERROR_CODE, message: first, ...(hint ? { hint } : {}) }, json);
}

export async function runCommand(
  run: () => Promise<unknown>,
  options: { json?: boolean } = {},
): Promise<void> {
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const holdfast = isHoldfastError(error) ? error : null;
    process.stderr.write(
      errorText(
        {
          code:
            holdfast?.code ?? (error instanceof InterruptedError ? INTERRUPTED_CODE : INTERNAL_ERROR_CODE),
          message,
          param: holdfast?.param ?? null,
          detail: holdfast?.detail ?? null,
        },
        options.json === true,
      ),
    );
    if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCodeFor(error);
  }
}
