/**
 * The benchmark's fixture: the mock upstream and `holdfast serve` as separate processes, an API
 * key created with the CLI on the server's SQLite store (so authentication is on), a config
 * routing model `bench` to the mock through an `openai-chat` provider, generous per-key rate
 * limits (limiting is on but never rejects), prices for the usage/cost ledger, and the
 * pre-created conversations. Also the six request scenarios.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Pool } from "undici";
import { type Child, runCli, startChild, tempDir } from "./children.ts";
import type { Scenario } from "./load.ts";

export const BENCH_MODEL = "bench";
const TENANT = "bench";
/** A short, typical user turn; the mock echoes its first 12 words. */
const PROMPT = "Please summarize the delivery status of order 4711 in one short sentence for the customer.";
const READY_MOCK = /listening on (http:\/\/\S+?) /;
const READY_SERVE = /holdfast listening on (http:\/\/\S+?) /;

export interface Fixture {
  dir: string;
  store: string;
  configFile: string;
  apiKey: string;
  mock: Child;
}

/**
 * Starts the mock upstream, writes the config and creates the API key. `windowCache`, when given,
 * becomes the config's `gateway.window_cache` (a size or `off`); otherwise the server's default.
 */
export async function prepare(windowCache?: string): Promise<Fixture> {
  const dir = tempDir("holdfast-bench-gateway-");
  const mock = await startChild({ args: ["mock-upstream", "--port", "0"], ready: READY_MOCK });
  const store = `sqlite:${join(dir, "bench.db")}`;
  const configFile = join(dir, "holdfast.config.json");
  const config = {
    providers: [{ name: "upstream", type: "openai-chat", baseUrl: `${mock.url}/v1` }],
    models: {
      [BENCH_MODEL]: {
        contextWindow: 128_000,
        maxOutputTokens: 4_096,
        pricing: { input: 0.15, output: 0.6, cachedInput: 0.075 },
      },
    },
    routes: { [BENCH_MODEL]: [{ provider: "upstream", model: "mock" }] },
    // Limiting runs on every request, with limits no run of this benchmark reaches.
    rate_limits: { per_key: { requests_per_minute: 100_000_000, tokens_per_minute: 100_000_000_000 } },
    ...(windowCache === undefined ? {} : { gateway: { window_cache: windowCache } }),
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const created = JSON.parse(
    runCli([
      "keys",
      "create",
      "--tenant",
      TENANT,
      "--scopes",
      "responses,conversations:read,conversations:write",
      "--store",
      store,
      "--json",
    ]),
  ) as { secret: string };
  return { dir, store, configFile, apiKey: created.secret, mock };
}

/** Starts `holdfast serve` on the fixture's store and config (optionally with Node flags such as --cpu-prof). */
export function startHoldfast(
  fixture: Fixture,
  logLevel: string,
  nodeFlags: readonly string[] = [],
  outputFile?: string,
): Promise<Child> {
  return startChild({
    args: [
      "serve",
      "--port",
      "0",
      "--store",
      fixture.store,
      "--config",
      fixture.configFile,
      "--log-level",
      logLevel,
    ],
    nodeFlags,
    ready: READY_SERVE,
    ...(outputFile ? { outputFile } : {}),
  });
}

/** The served process's window cache counters (`holdfast_window_cache_*`), or null when absent. */
export interface WindowCacheCounts {
  hits: number;
  misses: number;
}

/** The server's `/metrics` text; null when it does not answer 200. */
async function metricsText(origin: string): Promise<string | null> {
  const pool = new Pool(origin, { connections: 1 });
  try {
    const res = await pool.request({ method: "GET", path: "/metrics" });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : null;
  } catch {
    return null;
  } finally {
    await pool.close();
  }
}

/** Reads the window cache counters from `/metrics`; null when the build or config has none. */
export async function readWindowCache(origin: string): Promise<WindowCacheCounts | null> {
  const text = await metricsText(origin);
  if (text === null) return null;
  const value = (name: string): number | null => {
    const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    return match ? Number(match[1]) : null;
  };
  const hits = value("holdfast_window_cache_hits_total");
  const misses = value("holdfast_window_cache_misses_total");
  return hits === null || misses === null ? null : { hits, misses };
}

/** Whether the server exposes Prometheus metrics at `/metrics` (the observability hooks are on). */
export async function probeMetrics(origin: string): Promise<boolean> {
  return (await metricsText(origin))?.includes("# TYPE") ?? false;
}

/** Creates `count` conversations through the API (as the benchmark's key) and returns their ids. */
export async function createConversations(origin: string, apiKey: string, count: number): Promise<string[]> {
  const pool = new Pool(origin, { connections: 16 });
  const ids: string[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          next++;
          const res = await pool.request({
            method: "POST",
            path: "/v1/conversations",
            headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
            body: "{}",
          });
          const body = (await res.body.json()) as { id?: string };
          if (res.statusCode !== 200 || !body.id) {
            throw new Error(`creating a conversation answered ${res.statusCode}: ${JSON.stringify(body)}`);
          }
          ids.push(body.id);
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return ids;
}

/** The scenario ids, in the order they run. */
export const SCENARIO_IDS = [
  "direct",
  "direct-stream",
  "passthrough",
  "passthrough-stream",
  "conversation",
  "conversation-stream",
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

const CHAT_TOKEN = '"delta":{"content":"';
const RESPONSES_TOKEN = "response.output_text.delta";

function chatBody(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: PROMPT }],
    ...(stream ? { stream } : {}),
  });
}

/** (1) direct to the mock, (2) Holdfast pass-through, (3) Holdfast with conversations; each plain and streamed. */
export function scenarios(
  mockUrl: string,
  holdfastUrl: string,
  apiKey: string,
  conversations: readonly string[],
): Record<ScenarioId, Scenario> {
  const json = { "content-type": "application/json" };
  const authed = { ...json, authorization: `Bearer ${apiKey}` };
  const chat = (
    name: string,
    origin: string,
    headers: Record<string, string>,
    model: string,
    stream: boolean,
  ) => {
    const body = chatBody(model, stream);
    return {
      name,
      origin,
      path: "/v1/chat/completions",
      headers,
      body: () => body,
      firstTokenMarker: stream ? CHAT_TOKEN : null,
    };
  };
  const turn = (name: string, stream: boolean): Scenario => ({
    name,
    origin: holdfastUrl,
    path: "/v1/responses",
    headers: authed,
    body: (i) =>
      JSON.stringify({
        model: BENCH_MODEL,
        conversation: conversations[i % conversations.length],
        input: PROMPT,
        ...(stream ? { stream } : {}),
      }),
    firstTokenMarker: stream ? RESPONSES_TOKEN : null,
  });
  return {
    direct: chat("(1) direct to mock", mockUrl, json, "mock", false),
    "direct-stream": chat("(1) direct to mock, streaming", mockUrl, json, "mock", true),
    passthrough: chat("(2) Holdfast pass-through", holdfastUrl, authed, BENCH_MODEL, false),
    "passthrough-stream": chat(
      "(2) Holdfast pass-through, streaming",
      holdfastUrl,
      authed,
      BENCH_MODEL,
      true,
    ),
    conversation: turn("(3) Holdfast with conversations", false),
    "conversation-stream": turn("(3) Holdfast with conversations, streaming", true),
  };
}
