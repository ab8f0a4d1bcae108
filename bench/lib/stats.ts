/** Timing helpers for benchmarks: a monotonic clock in microseconds and percentiles. */

/** Microseconds since an arbitrary origin (monotonic). */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

/** The p-th percentile (0..100) of `samples`, nearest-rank; sorts a copy. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Runs `fn` `warmup` times unmeasured, then `count` times, returning each call's duration in µs. */
export async function sample(fn: () => Promise<unknown>, count: number, warmup = 50): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const start = nowUs();
    await fn();
    out[i] = nowUs() - start;
  }
  return out;
}

export interface Rate {
  /** Calls per wall-clock second. */
  perSec: number;
  /** Calls per second of this process's CPU time (user + system): steadier on a shared machine. */
  perCpuSec: number;
}

/** Keeps `concurrency` workers calling `fn` until `durationMs` passed. */
export async function throughput(
  fn: (worker: number) => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<Rate> {
  const start = nowUs();
  const cpuStart = process.cpuUsage();
  const end = start + durationMs * 1000;
  let calls = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (nowUs() < end) {
        await fn(worker);
        calls += 1;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuStart);
  return {
    perSec: calls / ((nowUs() - start) / 1e6),
    perCpuSec: calls / ((cpu.user + cpu.system) / 1e6),
  };
}
