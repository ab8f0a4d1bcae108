/**
 * `npm run soak [-- --duration 60000] [--concurrency 16] [--store memory:|sqlite]`
 *
 * A bounded soak of an in-process server: the gateway (built-in mock model, and a route over a
 * chaotic mock upstream — 20% 5xx, 5% hangs, 5% cut streams — with a clean fallback), the
 * session API, streamed responses (some aborted by the client mid-stream), malformed requests,
 * and the lifecycle sweeper purging expired sessions in the background. Afterwards it checks
 * that open sockets, handles and timers are back to the baseline and that RSS shows no upward
 * trend; it exits 1 on a leak (2 when requests failed unexpectedly).
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { createGateway } from "../src/engine/gateway.ts";
import { parseProvidersConfig } from "../src/engine/providers/config.ts";
import { createProviderLayer } from "../src/engine/providers/create-providers.ts";
import { createArchiver } from "../src/lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../src/lifecycle/policy.ts";
import { createSweeper } from "../src/lifecycle/sweeper.ts";
import { createMockUpstream } from "../src/mock-upstream/index.ts";
import { createServer } from "../src/server/create-server.ts";
import { registerCleanupRoutes } from "../src/server/routes/admin-cleanup.ts";
import { createStore } from "../src/store/create-store.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "60000" },
    concurrency: { type: "string", default: "16" },
    store: { type: "string", default: "sqlite" },
  },
});
const DURATION = Number(values.duration);
const CONCURRENCY = Number(values.concurrency);
const KINDS = new Set([
  "TCPSocketWrap",
  "TCPServerWrap",
  "Timeout",
  "TLSWrap",
  "FSReqCallback",
  "PipeWrap",
  "Worker",
  "MessagePort",
]);

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) if (KINDS.has(kind)) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}
const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const gc = (globalThis as { gc?: () => void }).gc;
/** RSS and retained JS heap (after a full GC when --expose-gc), in MB. */
const memoryMb = (): { rss: number; heap: number } => {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
};

// Before anything is opened: after everything is closed again, nothing may be left above this.
// stdout/stderr open their pipe handles lazily; open them now so they are part of the baseline.
process.stdout.write("");
process.stderr.write("");
const baseline = resources();
const dir = mkdtempSync(join(tmpdir(), "holdfast-soak-"));
const storeUrl = values.store === "sqlite" ? `sqlite:${join(dir, "soak.db")}` : values.store;
const store = await createStore(storeUrl);
const flaky = await createMockUpstream({
  errorRate: 0.2,
  hangRate: 0.05,
  cutStreamRate: 0.05,
  seed: 11,
  retryAfterMs: 0,
});
const clean = await createMockUpstream();
const providers = createProviderLayer(
  parseProvidersConfig(
    {
      retry: { maxRetries: 1, baseDelayMs: 5 },
      breaker: { failureThreshold: 5, openMs: 200 },
      providers: [
        {
          name: "flaky",
          type: "openai-chat",
          baseUrl: `${flaky.url}/v1`,
          timeouts: { headersMs: 250, idleMs: 250 },
        },
        { name: "clean", type: "openai-responses", baseUrl: `${clean.url}/v1` },
      ],
      routes: {
        chaos: [
          { provider: "flaky", model: "m" },
          { provider: "clean", model: "m" },
        ],
      },
    },
    {},
  ),
  { env: {} },
);
const gateway = createGateway({ store, providers });
const app = await createServer({ store, gateway: { engine: gateway.engine, models: gateway.models } });
const archiver = createArchiver(store, { dir: join(dir, "archives") });
const sweeper = createSweeper({
  store,
  archiver,
  // Soak sessions go idle quickly: the sweeper purges them while traffic runs.
  policy: parseLifecyclePolicy({ defaults: { idle_ttl: "10s", on_expiry: "delete" } }),
  batchSize: 50,
  pauseMs: 5,
});
registerCleanupRoutes(app, { sweeper, archiver });
await app.listen({ host: "127.0.0.1", port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const agent = new Agent({ connections: CONCURRENCY * 2, keepAliveTimeout: 1000 });

const counts: Record<string, number> = {};
let unexpected = 0;
const note = (what: string): void => {
  counts[what] = (counts[what] ?? 0) + 1;
};

async function call(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<{ status: number; text: string }> {
  const res = await request(`${base}${path}`, {
    method: method as "GET",
    dispatcher: agent,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function expect(
  status: number,
  p: Promise<{ status: number; text: string }>,
  what: string,
): Promise<string> {
  const r = await p;
  if (r.status !== status) {
    unexpected++;
    if (unexpected <= 5) process.stderr.write(`unexpected ${what}: ${r.status} ${r.text.slice(0, 200)}\n`);
  }
  note(what);
  return r.text;
}

/** One user session: a conversation with a short idle TTL (the sweeper removes it later), turns and reads. */
async function scenario(n: number): Promise<void> {
  const conv = JSON.parse(
    await expect(200, call("POST", "/v1/conversations", { metadata: { soak: String(n) } }), "create"),
  ) as { id: string };
  await expect(
    200,
    call("POST", "/v1/responses", { model: "mock", input: `hello ${n}`, conversation: conv.id }),
    "turn",
  );
  await expect(
    200,
    call("POST", "/v1/responses", { model: "chaos", input: `chaos ${n}`, conversation: conv.id }),
    "chaos turn",
  );
  const streamed = await call("POST", "/v1/responses", {
    model: "mock",
    input: `stream ${n}`,
    conversation: conv.id,
    stream: true,
  });
  note(streamed.status === 200 && streamed.text.includes("response.completed") ? "stream" : "stream-bad");
  if (streamed.status !== 200) unexpected++;
  // An aborted stream: the client goes away after the first bytes.
  const abort = new AbortController();
  try {
    const res = await request(`${base}/v1/responses`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: n % 2 ? "mock" : "chaos",
        input: `abort ${n} ${"x ".repeat(200)}`,
        conversation: conv.id,
        stream: true,
      }),
      signal: abort.signal,
    });
    for await (const _chunk of res.body) {
      abort.abort();
      break;
    }
  } catch {
    // the abort itself
  }
  note("aborted stream");
  await expect(200, call("GET", `/v1/conversations/${conv.id}/items?limit=10`), "items");
  await expect(404, call("GET", `/v1/conversations/conv_${"0".repeat(32)}`), "not found");
  await expect(400, call("POST", "/v1/conversations", "{not json"), "malformed");
  if (n % 3 === 0) await expect(200, call("DELETE", `/v1/conversations/${conv.id}`), "delete");
}

let n = 0;
async function worker(until: number): Promise<void> {
  while (Date.now() < until) await scenario(n++);
}

// Warm-up at full concurrency, so pools are at their working size before sampling starts.
await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(Date.now() + 2000)));
const rss: number[] = [];
const heap: number[] = [];
const open: number[] = [];
sweeper.start(2000);
const sampler = setInterval(() => {
  const m = memoryMb();
  rss.push(m.rss);
  heap.push(m.heap);
  open.push(total(resources()));
}, 1000);
const started = Date.now();
await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(started + DURATION)));
clearInterval(sampler);
await sweeper.stop();
const elapsed = (Date.now() - started) / 1000;

await agent.close();
await app.close();
await gateway.close();
await flaky.close();
await clean.close();
await store.close();
let after = resources();
for (let i = 0; i < 100 && total(after) > total(baseline); i++) {
  await delay(50);
  after = resources();
}
// Trends are judged on the second half: the first half is warm-up (caches, JIT, pools, heap).
const q = Math.max(1, Math.floor(rss.length / 4));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const early = mean(rss.slice(2 * q, 3 * q));
const late = mean(rss.slice(-q));
const rssGrowthMb = late - early;
const heapEarly = mean(heap.slice(2 * q, 3 * q));
const heapLate = mean(heap.slice(-q));
const leakedHandles = Object.entries(after).filter(([k, v]) => v > (baseline[k] ?? 0));
// Open handles during the run must not trend upward either (pools stay at their size).
const openEarly = mean(open.slice(2 * q, 3 * q));
const openLate = mean(open.slice(-q));
const handleTrend = openLate > openEarly * 1.5 + 8;
const requests = Object.values(counts).reduce((a, b) => a + b, 0);

const report = {
  seconds: Math.round(elapsed),
  scenarios: n,
  requests,
  requestsPerSec: Math.round(requests / elapsed),
  counts,
  unexpected,
  sweeper: sweeper.stats(),
  resources: { baseline, after, duringRun: { early: Math.round(openEarly), late: Math.round(openLate) } },
  rssMb: {
    first: Math.round(rss[0] ?? 0),
    thirdQuarter: Math.round(early),
    lastQuarter: Math.round(late),
    max: Math.round(Math.max(...rss)),
  },
  heapAfterGcMb: { thirdQuarter: Math.round(heapEarly), lastQuarter: Math.round(heapLate) },
  gcExposed: gc !== undefined,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

rmSync(dir, { recursive: true, force: true });

// An upward trend: the last quarter's mean is well above the third quarter's (RSS: >15% and
// >25 MB; retained heap: >10% and >10 MB).
const rssLeak =
  (rssGrowthMb > 25 && late > early * 1.15) || (heapLate - heapEarly > 10 && heapLate > heapEarly * 1.1);
if (leakedHandles.length > 0 || rssLeak || handleTrend) {
  process.stderr.write(
    `soak: LEAK — handles left after close: ${JSON.stringify(leakedHandles)}, open handles ${openEarly.toFixed(0)} → ${openLate.toFixed(0)}, RSS ${early.toFixed(0)} → ${late.toFixed(0)} MB, heap ${heapEarly.toFixed(0)} → ${heapLate.toFixed(0)} MB\n`,
  );
  process.exit(1);
}
if (unexpected > 0) {
  process.stderr.write(`soak: ${unexpected} unexpected responses\n`);
  process.exit(2);
}
process.stderr.write(`soak: ok — ${requests} requests in ${elapsed.toFixed(0)} s, no leaks\n`);
