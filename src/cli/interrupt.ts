/**
 * Ctrl-C (SIGINT) or SIGTERM during a job that writes (an export to a file, an import). Node's
 * default ends the process where it stands, which left an export's `.tmp` file beside its target
 * and a session imported up to its last append. Here the first signal aborts the job, which
 * undoes its partial write and stops; the command then exits 130 (SIGINT) or 143 (SIGTERM), as
 * the shell would report for the killed process. A second signal exits at once.
 */
import { constants } from "node:os";

/** The job was stopped by a signal; its message says what stays (exit 128 + the signal's number). */
export class InterruptedError extends Error {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals, outcome?: string) {
    super(`Interrupted by ${signal}${outcome ? `: ${outcome}` : ""}.`);
    this.name = "InterruptedError";
    this.signal = signal;
  }

  get exitCode(): number {
    return 128 + (constants.signals[this.signal] ?? 0);
  }
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/**
 * Runs `run` with a signal aborted (reason: an `InterruptedError`) by the first SIGINT or SIGTERM.
 * `run` is to stop at its next safe point, leaving nothing partial; if it then fails, the failure
 * is an `InterruptedError` whose message ends with `outcome()` (what was written and stays). A job
 * that completes although a signal came keeps its result: its work is done.
 */
export async function interruptible<T>(
  run: (signal: AbortSignal) => Promise<T>,
  outcome: () => string,
): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal means "now": the partial work stays as it is.
    if (controller.signal.aborted) process.exit(new InterruptedError(signal).exitCode);
    controller.abort(new InterruptedError(signal));
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    return await run(controller.signal);
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    throw new InterruptedError((controller.signal.reason as InterruptedError).signal, outcome());
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  }
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
