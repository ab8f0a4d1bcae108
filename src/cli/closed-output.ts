/**
 * Output whose reader went away (`holdfast sessions ls | head -1`). Node ignores SIGPIPE, so a
 * write to a closed pipe becomes an EPIPE 'error' on process.stdout: unhandled, it crashed the
 * CLI with a stack trace; inside an export's stream it surfaced as `write EPIPE [internal_error]`.
 * A C tool would be killed by SIGPIPE at that write; the CLI does the same, quietly: nobody reads
 * what else it would print, and the exit code is the shell's for that death.
 */

/** 128 + SIGPIPE (13): what a shell reports for a command killed by a closed pipe. */
export const CLOSED_OUTPUT_EXIT = 141;

function isClosedPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === "EPIPE";
}

/**
 * Ends the process with `CLOSED_OUTPUT_EXIT` when stdout or stderr is closed by its reader.
 * Only these two streams: an EPIPE from a store's socket is a store error, reported as one.
 */
export function exitOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error) => {
      if (!isClosedPipe(error)) throw error;
      process.exit(CLOSED_OUTPUT_EXIT);
    });
  }
}
