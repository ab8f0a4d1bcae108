/**
 * The pause between two sweep batches: long enough to keep under maxOpsPerSecond and to leave
 * live traffic the store, slept in slices so the lease stays renewed and `stop()` cuts it short.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { SweepLease } from "./sweep-lease.ts";

export interface PacingOptions {
  maxOpsPerSecond?: number | null;
  pauseMs: number;
  pauseRatio: number;
  /** How to sleep (tests observe the pacing through it); default a timer `halt` cancels. */
  sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Sleeps so the sweep stays under maxOpsPerSecond and leaves live traffic at least pauseMs,
 * and pauseRatio × the batch's own time: a slow batch (big sessions, a loaded store) earns a
 * longer pause than a fixed one would give it. False when the sweep should end instead:
 * halted, or the lease lost during the pause.
 */
export async function pauseAfterBatch(
  ops: number,
  tookMs: number,
  options: PacingOptions,
  lease: SweepLease,
  halt: AbortSignal,
): Promise<boolean> {
  const { maxOpsPerSecond, pauseMs, pauseRatio } = options;
  const floor = maxOpsPerSecond ? (ops / maxOpsPerSecond) * 1000 - tookMs : 0;
  const wait = Math.max(pauseMs, pauseRatio * tookMs, floor);
  if (wait <= 0) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return true;
  }
  const slice = lease.renewEveryMs;
  let wake = (): void => {};
  const halted = new Promise<void>((resolve) => {
    wake = resolve;
  });
  halt.addEventListener("abort", wake, { once: true });
  try {
    for (let left = wait; left > 0; left -= slice) {
      if (halt.aborted) return false;
      const ms = Math.min(left, slice);
      // The default sleep is cancelled too, so no timer keeps a stopping process alive.
      const nap = options.sleep ? options.sleep(ms) : sleep(ms, undefined, { signal: halt }).catch(() => {});
      await Promise.race([nap, halted]);
      if (halt.aborted) return false;
      if (left > slice && !(await lease.keep())) return false;
    }
    return true;
  } finally {
    halt.removeEventListener("abort", wake);
  }
}
