/**
 * Node 22 prints a stability notice on the first load of `node:sqlite` in every thread
 * ("ExperimentalWarning: SQLite is an experimental feature…"); Node 24 does not. Holdfast uses
 * `node:sqlite` by design, and the CLI's stderr carries its own messages and the `--json`
 * summaries scripts read, so the CLI drops that notice (bin/holdfast.js, before anything loads
 * `node:sqlite`), and the SQLite worker threads drop their copy of it always: the thread that
 * started them loaded `node:sqlite` first and has printed the notice already, or has dropped it.
 * Only that notice is dropped: every other warning, ExperimentalWarnings included, still prints.
 */

const NOTICE = "SQLite is an experimental feature";
const QUIET = Symbol.for("holdfast.quietSqliteNotice");

type EmitWarning = typeof process.emitWarning;

/** Whether a `process.emitWarning(warning, typeOrOptions)` call is the notice. */
function isNotice(warning: unknown, typeOrOptions: unknown): boolean {
  const type =
    typeof typeOrOptions === "string"
      ? typeOrOptions
      : (typeOrOptions as { type?: unknown } | undefined)?.type;
  const text = typeof warning === "string" ? warning : (warning as Error | undefined)?.message;
  const name = typeof warning === "string" ? type : ((warning as Error | undefined)?.name ?? type);
  return name === "ExperimentalWarning" && typeof text === "string" && text.startsWith(NOTICE);
}

/**
 * Drops the notice from this thread's `process.emitWarning` (once per thread: a second call
 * changes nothing). Returns a function putting the previous `emitWarning` back (tests).
 */
export function quietSqliteNotice(): () => void {
  const current = process.emitWarning as EmitWarning & { [QUIET]?: true };
  if (current[QUIET]) return () => {};
  const quiet = function (this: unknown, warning: unknown, ...rest: unknown[]) {
    if (isNotice(warning, rest[0])) return;
    return (current as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as EmitWarning & { [QUIET]?: true };
  quiet[QUIET] = true;
  process.emitWarning = quiet;
  return () => {
    if (process.emitWarning === quiet) process.emitWarning = current;
  };
}

/**
 * `node:sqlite` for the worker threads, loaded after the notice is dropped: a static import would
 * load it while the module graph links, before any of the worker's code runs.
 */
export function loadSqliteQuietly(): typeof import("node:sqlite") {
  quietSqliteNotice();
  return process.getBuiltinModule("node:sqlite");
}
