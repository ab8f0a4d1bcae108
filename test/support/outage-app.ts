/**
 * A `holdfast serve` app (the full composition, listening on loopback) over a given store URL,
 * with a mock upstream that answers after a delay, for tests that take the store away
 * mid-traffic; and a client for it that times every call.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHoldfastApp, type HoldfastApp } from "../../src/app.ts";
import { loadServerConfig } from "../../src/config/index.ts";

export interface OutageApp {
  holdfast: HoldfastApp;
  url: string;
  call(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  stop(): Promise<void>;
}

export interface Answer {
  status: number;
  /** Parsed JSON body (the raw text for a stream). */
  body: { error?: { type: string; code: string; message: string } } & Record<string, unknown>;
  text: string;
  headers: Headers;
  ms: number;
}

export interface OutageAppOptions {
  storeUrl: string;
  upstreamUrl: string;
  /** `gateway` section of the config file (busy policy, claim TTL). */
  gateway?: Record<string, unknown>;
  /** More of the config file (models' pricing, rate limits); `providers` and `gateway` as above. */
  file?: Record<string, unknown>;
}

export async function startOutageApp(options: OutageAppOptions): Promise<OutageApp> {
  const dir = await mkdtemp(path.join(tmpdir(), "hf-outage-"));
  const file = path.join(dir, "config.json");
  const providers = [
    { name: "m", type: "openai-chat", baseUrl: `${options.upstreamUrl}/v1`, retry: { maxRetries: 0 } },
  ];
  await writeFile(file, JSON.stringify({ ...options.file, providers, gateway: options.gateway ?? {} }));
  const config = await loadServerConfig({
    flags: { store: options.storeUrl, config: file, port: "0", logLevel: "silent" },
    env: {},
  });
  const holdfast = await createHoldfastApp({ config, env: {} });
  const url = await holdfast.app.listen({ port: 0, host: "127.0.0.1" });
  const call: OutageApp["call"] = async (method, route, body, headers = {}) => {
    const started = Date.now();
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: Answer["body"];
    try {
      parsed = JSON.parse(text) as Answer["body"];
    } catch {
      parsed = {};
    }
    return { status: res.status, body: parsed, text, headers: res.headers, ms: Date.now() - started };
  };
  return {
    holdfast,
    url,
    call,
    stop: async () => {
      await holdfast.shutdown(1000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Calls `attempt` every `everyMs` until `done` holds for its answer or `timeoutMs` passed; the last answer. */
export async function until(
  attempt: () => Promise<Answer>,
  done: (answer: Answer) => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await attempt();
    if (done(answer) || Date.now() >= deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
