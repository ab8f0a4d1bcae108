/**
 * A non-streamed turn whose client went away while the upstream had its request: the provider
 * received the whole prompt and bills its input, though it reported nothing. The turn records
 * the input tokens, estimated (`usage.estimated: true`, output 0: unknown), priced at the route
 * target the request went to — in its response record, the usage route, the spend cap and the
 * metrics. It used to record 0 tokens and cost nothing anywhere. The same holds for a streamed
 * turn cut before the upstream's first event (below).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createHoldfastApp, type HoldfastApp } from "../app.ts";
import { loadServerConfig } from "../config/index.ts";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";

/** Every turn below is still waiting for the upstream when its client leaves. */
const LATENCY_MS = 5000;
/** The route `slow` sends to `slow-1`, priced at one USD per token; the alias has no price. */
const SERVED = { provider: "up", model: "slow-1" };

let upstream: MockUpstream;
let dir: string;

before(async () => {
  upstream = await createMockUpstream({ latencyMs: LATENCY_MS });
  dir = await mkdtemp(path.join(tmpdir(), "hf-disconnect-usage-"));
});

after(async () => {
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(
  name: string,
  extra: Record<string, unknown> = {},
): Promise<{ holdfast: HoldfastApp; url: string }> {
  const config = path.join(dir, `${name}.json`);
  await writeFile(
    config,
    JSON.stringify({
      providers: [{ name: "up", type: "openai-chat", baseUrl: `${upstream.url}/v1` }],
      routes: { slow: [SERVED] },
      models: { [SERVED.model]: { pricing: { input: 1e6, output: 1e6 } } },
      ...extra,
    }),
  );
  const loaded = await loadServerConfig({
    flags: { store: "memory:", config, port: "0", logLevel: "silent" },
    env: {},
  });
  const holdfast = await createHoldfastApp({ config: loaded, env: {} });
  const url = await holdfast.app.listen({ port: 0, host: "127.0.0.1" });
  return { holdfast, url };
}

async function json(url: string, method: string, route: string, body?: object, headers = {}) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { ...(body ? { "content-type": "application/json" } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Sends a turn, waits until it reached the upstream, then drops the client connection. */
async function abandon(url: string, route: string, body: object, headers: Record<string, string> = {}) {
  const client = new AbortController();
  const reached = once(upstream.events, "request", { signal: AbortSignal.timeout(3000) });
  const pending = fetch(`${url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: client.signal,
  }).then(async (res) => (body as { stream?: boolean }).stream && (await res.text()));
  await reached;
  const upstreamAborted = once(upstream.events, "aborted", { signal: AbortSignal.timeout(LATENCY_MS / 2) });
  client.abort();
  await assert.rejects(pending, { name: "AbortError" });
  await upstreamAborted;
}

/** Polls until `check` holds (the turn is committed after the client left), or fails with its last error. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const until = Date.now() + 3000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** A counter of `GET /metrics` for the served model. */
/**
 * The cut turn's record and usage route once committed: the input's tokens as the store counted
 * them, estimated, output 0, priced 1 USD per token at the target reached (`servedBy`).
 */
async function assertEstimatedTurn(
  holdfast: HoldfastApp,
  url: string,
  id: string,
  servedBy: { provider: string; model: string },
): Promise<number> {
  await eventually(async () => {
    const items = await holdfast.store.readItems("default", id);
    assert.equal(items.at(-1)?.type, "response_record");
  });
  const [input, record] = await holdfast.store.readItems("default", id);
  // The window sent was that one message: its tokens as the store counted them.
  const windowTokens = input!.tokens;
  assert.ok(windowTokens > 0);
  assert.equal(record!.content.status, "incomplete");
  assert.deepEqual(record!.content.usage, {
    input_tokens: windowTokens,
    output_tokens: 0,
    cached_tokens: 0,
    estimated: true,
  });
  assert.equal(record!.content.cost_usd, windowTokens);
  assert.deepEqual(record!.content.served_by, servedBy);
  const usage = await json(url, "GET", `/v1/conversations/${id}/usage`);
  const turns = usage.body.turns as Record<string, unknown>[];
  assert.equal(turns.length, 1);
  assert.equal(turns[0]!.input_tokens, windowTokens);
  assert.equal(turns[0]!.output_tokens, 0);
  assert.equal(turns[0]!.estimated, true);
  assert.equal(turns[0]!.cost_usd, windowTokens);
  assert.equal((usage.body.total as { cost_usd: number }).cost_usd, windowTokens);
  return windowTokens;
}

async function metric(url: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pattern = new RegExp(`^${name}\\{tenant="default",model="${SERVED.model}"${labels}\\} (\\S+)$`, "m");
  return Number(pattern.exec(text)?.[1] ?? 0);
}

describe("a non-streamed turn cut short by its client records the input it was billed", () => {
  let holdfast: HoldfastApp;
  let url: string;
  before(async () => {
    ({ holdfast, url } = await start("ledger"));
  });
  after(async () => {
    await holdfast?.shutdown(0);
  });

  const cases = [
    { name: "/v1/responses", route: "/v1/responses", chat: false },
    { name: "chat with Holdfast-Conversation", route: "/v1/chat/completions", chat: true },
  ];
  for (const c of cases) {
    test(`${c.name}: the record and the usage route show the estimated input and its cost`, async () => {
      const id = String((await json(url, "POST", "/v1/conversations", {})).body.id);
      const body = c.chat
        ? { model: "slow", messages: [{ role: "user", content: "hello there" }] }
        : { model: "slow", input: "hello there", conversation: id };
      await abandon(url, c.route, body, c.chat ? { "holdfast-conversation": id } : {});
      // Priced at the target the request went to (the alias `slow` has no price).
      await assertEstimatedTurn(holdfast, url, id, SERVED);
    });
  }

  test("store: false: the metrics count the estimated input and its cost", async () => {
    const read = async () => ({
      cost: await metric(url, "holdfast_cost_usd_total"),
      input: await metric(url, "holdfast_tokens_total", ',direction="input"'),
      output: await metric(url, "holdfast_tokens_total", ',direction="output"'),
    });
    const before = await read();
    await abandon(url, "/v1/responses", { model: "slow", input: "hello there", store: false });
    // No record: `onTurn` is what counts it. A window nothing stored is estimated by its length.
    await eventually(async () => {
      const now = await read();
      assert.ok(now.input > before.input, `input tokens ${before.input} → ${now.input}`);
      assert.equal(now.cost - before.cost, now.input - before.input);
      assert.equal(now.output, before.output);
    });
  });
});

/**
 * A streamed turn cut before the upstream's first event: the request had gone out, so the
 * upstream bills its input all the same. It used to record 0 tokens (only a non-streamed call was
 * estimated); it now records the estimated input, like the non-streamed case, whatever the route
 * and whichever adapter the target speaks.
 */
describe("a streamed turn cut before its first event records the input it was billed", () => {
  let holdfast: HoldfastApp;
  let url: string;
  before(async () => {
    ({ holdfast, url } = await start("stream", {
      providers: [
        { name: "up", type: "openai-chat", baseUrl: `${upstream.url}/v1` },
        { name: "resp", type: "openai-responses", baseUrl: `${upstream.url}/v1` },
        { name: "claude", type: "anthropic", baseUrl: upstream.url },
      ],
      routes: {
        slow: [SERVED],
        "slow-resp": [{ provider: "resp", model: SERVED.model }],
        "slow-claude": [{ provider: "claude", model: SERVED.model }],
      },
    }));
  });
  after(async () => {
    await holdfast?.shutdown(0);
  });

  const cases = [
    { name: "/v1/responses over openai-chat", model: "slow", chat: false, provider: "up" },
    { name: "/v1/responses over openai-responses", model: "slow-resp", chat: false, provider: "resp" },
    { name: "/v1/responses over anthropic", model: "slow-claude", chat: false, provider: "claude" },
    { name: "chat with Holdfast-Conversation", model: "slow", chat: true, provider: "up" },
  ];
  for (const c of cases) {
    test(`${c.name}: the record and the usage route show the estimated input and its cost`, async () => {
      const id = String((await json(url, "POST", "/v1/conversations", {})).body.id);
      const body = c.chat
        ? { model: c.model, messages: [{ role: "user", content: "hello there" }], stream: true }
        : { model: c.model, input: "hello there", conversation: id, stream: true };
      await abandon(url, c.chat ? "/v1/chat/completions" : "/v1/responses", body, {
        ...(c.chat ? { "holdfast-conversation": id } : {}),
      });
      await assertEstimatedTurn(holdfast, url, id, { provider: c.provider, model: SERVED.model });
    });
  }

  test("stateless chat stream: the metrics count the estimated input and its cost", async () => {
    const read = async () => ({
      cost: await metric(url, "holdfast_cost_usd_total"),
      input: await metric(url, "holdfast_tokens_total", ',direction="input"'),
    });
    const before = await read();
    await abandon(url, "/v1/chat/completions", {
      model: "slow",
      messages: [{ role: "user", content: "hello there" }],
      stream: true,
    });
    await eventually(async () => {
      const now = await read();
      assert.ok(now.input > before.input, `input tokens ${before.input} → ${now.input}`);
      assert.equal(now.cost - before.cost, now.input - before.input);
    });
  });
});

describe("the daily spend cap counts a stateless turn cut short by its client", () => {
  let holdfast: HoldfastApp;
  let url: string;
  before(async () => {
    // Half a USD: any one token billed puts the tenant past it.
    ({ holdfast, url } = await start("cap", { rate_limits: { spend_per_day_usd: 0.5 } }));
  });
  after(async () => {
    await holdfast?.shutdown(0);
  });

  test("chat without Holdfast-Conversation: the next model call is refused", async () => {
    const body = { model: "slow", messages: [{ role: "user", content: "hello there" }] };
    await abandon(url, "/v1/chat/completions", body);
    await eventually(async () => {
      assert.ok((await metric(url, "holdfast_cost_usd_total")) > 0.5);
    });
    const refused = await json(url, "POST", "/v1/chat/completions", body);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    const error = refused.body.error as { code: string; type: string };
    assert.equal(error.code, "rate_limit_exceeded");
    assert.equal(error.type, "spend");
  });
});
