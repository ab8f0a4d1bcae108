/**
 * The load generator: an undici Pool with keep-alive, driven either closed-loop (N workers, each
 * sending its next request when the previous answer is complete: throughput) or open-loop (a fixed
 * schedule of R requests/s whatever the answers do: latency at a given load). Open-loop latencies
 * are measured from each request's scheduled send time, so a stalled generator or server shows up
 * in the figures instead of being hidden (no coordinated omission).
 */
import { Pool } from "undici";
import { nowUs } from "../lib/stats.ts";

/** One kind of request the benchmark sends. */
export interface Scenario {
  readonly name: string;
  /** Base URL of the server it goes to. */
  readonly origin: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body of the i-th request of a phase. */
  body(i: number): string;
  /** For streams: the text whose first arrival is the first token (time-to-first-token). */
  readonly firstTokenMarker: string | null;
}

export interface PhaseResult {
  /** Completed (2xx, body fully read) requests per second of the measured window. */
  reqPerSec: number;
  ok: number;
  /** Completed requests including the warm-up (for CPU per request over the whole phase). */
  totalOk: number;
  errors: number;
  /** The first error seen, for the report. */
  firstError: string | null;
  /** Whole-request latencies in µs (until the last body byte). */
  latencies: number[];
  /** Time to the first token in µs (streams only). */
  ttfts: number[];
  durationMs: number;
  /** Open loop only: how late requests left compared with their schedule, p99 in µs. */
  sendLagP99Us: number | null;
}

interface Sample {
  latency: number;
  ttft: number | null;
}

async function send(pool: Pool, scenario: Scenario, i: number, startUs: number): Promise<Sample> {
  const res = await pool.request({
    method: "POST",
    path: scenario.path,
    headers: scenario.headers,
    body: scenario.body(i),
  });
  let ttft: number | null = null;
  const marker = scenario.firstTokenMarker;
  if (marker === null) {
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${text.slice(0, 300)}`);
  } else {
    let tail = "";
    let seen = "";
    for await (const chunk of res.body) {
      const text = (chunk as Buffer).toString("latin1");
      if (res.statusCode !== 200) seen += text;
      if (ttft === null) {
        // The marker may straddle two chunks.
        const window = tail + text;
        if (window.includes(marker)) ttft = nowUs() - startUs;
        else tail = window.slice(-marker.length);
      }
    }
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${seen.slice(0, 300)}`);
    if (ttft === null) throw new Error(`stream ended without '${marker}'`);
  }
  return { latency: nowUs() - startUs, ttft };
}

function collect(samples: Sample[], errors: number, firstError: string | null, durationUs: number) {
  return {
    reqPerSec: samples.length / (durationUs / 1e6),
    ok: samples.length,
    errors,
    firstError,
    latencies: samples.map((s) => s.latency),
    ttfts: samples.flatMap((s) => (s.ttft === null ? [] : [s.ttft])),
    durationMs: durationUs / 1000,
  };
}

function newPool(origin: string, connections: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
  });
}

/**
 * `concurrency` workers loop for `warmupMs` (not recorded) and then `durationMs`. Requests are
 * numbered in send order across workers (round-robin over whatever `body(i)` spreads them on).
 */
export async function closedLoop(
  scenario: Scenario,
  concurrency: number,
  durationMs: number,
  warmupMs: number,
): Promise<PhaseResult> {
  const pool = newPool(scenario.origin, concurrency);
  const samples: Sample[] = [];
  let errors = 0;
  let firstError: string | null = null;
  let counter = 0;
  let totalOk = 0;
  const begin = nowUs();
  const measureFrom = begin + warmupMs * 1000;
  const end = measureFrom + durationMs * 1000;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let t = nowUs(); t < end; t = nowUs()) {
          try {
            const sample = await send(pool, scenario, counter++, t);
            totalOk++;
            if (t >= measureFrom && t + sample.latency <= end) samples.push(sample);
          } catch (error) {
            errors++;
            firstError ??= (error as Error).message;
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return { ...collect(samples, errors, firstError, end - measureFrom), totalOk, sendLagP99Us: null };
}

/** Sends `rate` requests/s on a fixed schedule for `durationMs`; latency counts from the scheduled time. */
export async function openLoop(scenario: Scenario, rate: number, durationMs: number): Promise<PhaseResult> {
  const pool = newPool(scenario.origin, 256);
  const samples: Sample[] = [];
  const lags: number[] = [];
  const inflight = new Set<Promise<void>>();
  let errors = 0;
  let firstError: string | null = null;
  const total = Math.round((rate * durationMs) / 1000);
  const intervalUs = 1e6 / rate;
  const begin = nowUs();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor((nowUs() - begin) / intervalUs) + 1);
      for (; sent < due; sent++) {
        const scheduled = begin + sent * intervalUs;
        lags.push(nowUs() - scheduled);
        const p: Promise<void> = send(pool, scenario, sent, scheduled).then(
          (sample) => {
            samples.push(sample);
          },
          (error: Error) => {
            errors++;
            firstError ??= error.message;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(inflight);
  } finally {
    await pool.close();
  }
  lags.sort((a, b) => a - b);
  const lag = lags[Math.min(lags.length - 1, Math.ceil(lags.length * 0.99) - 1)] ?? 0;
  return {
    ...collect(samples, errors, firstError, durationMs * 1000),
    totalOk: samples.length,
    sendLagP99Us: lag,
  };
}
