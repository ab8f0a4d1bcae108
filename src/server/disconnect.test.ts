/**
 * A client that goes away mid-turn cancels the upstream call at once (streamed or not, before the
 * upstream answered), the turn is committed as `incomplete`, and the conversation is free for the
 * next turn. And `shutdown(deadline)` with a non-streamed turn in flight returns within the
 * deadline (keep-alive connections do not hold it open).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent } from "undici";
import { createHoldfastApp, type HoldfastApp } from "../app.ts";
import { loadServerConfig } from "../config/index.ts";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";

/** The upstream answers after 5 s: every turn below is still waiting for it when cut short. */
const LATENCY_MS = 5000;

let upstream: MockUpstream;
let dir: string;
let config: string;

before(async () => {
  upstream = await createMockUpstream({ latencyMs: LATENCY_MS });
  dir = await mkdtemp(path.join(tmpdir(), "hf-disconnect-"));
  config = path.join(dir, "holdfast.config.json");
  await writeFile(
    config,
    JSON.stringify({
      providers: [{ name: "up", type: "openai-chat", baseUrl: `${upstream.url}/v1` }],
      routes: { slow: [{ provider: "up", model: "slow" }] },
    }),
  );
});

after(async () => {
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<{ holdfast: HoldfastApp; url: string }> {
  const loaded = await loadServerConfig({
    flags: { store: "memory:", config, port: "0", logLevel: "silent" },
    env: {},
  });
  const holdfast = await createHoldfastApp({ config: loaded, env: {} });
  const url = await holdfast.app.listen({ port: 0, host: "127.0.0.1" });
  return { holdfast, url };
}

async function createConversation(url: string): Promise<string> {
  const res = await fetch(`${url}/v1/conversations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  return ((await res.json()) as { id: string }).id;
}

function post(url: string, route: string, body: object, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}${route}`, {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) },
    body: JSON.stringify(body),
  });
}

/** Sends a turn, waits until it reached the upstream, then drops the client connection. */
async function abandon(url: string, route: string, body: object, headers: Record<string, string> = {}) {
  const client = new AbortController();
  // A turn held back (by a claim its conversation never got back) fails here instead of hanging.
  const reached = once(upstream.events, "request", { signal: AbortSignal.timeout(3000) });
  const pending = post(url, route, body, { signal: client.signal, headers }).then(
    async (res) => (body as { stream?: boolean }).stream && (await res.text()),
  );
  await reached;
  const upstreamAborted = once(upstream.events, "aborted", { signal: AbortSignal.timeout(LATENCY_MS / 2) });
  const cutAt = Date.now();
  client.abort();
  await assert.rejects(pending, { name: "AbortError" });
  await upstreamAborted;
  return Date.now() - cutAt;
}

/** The conversation's items as `type:status`, once its last turn was committed. */
async function transcript(holdfast: HoldfastApp, id: string): Promise<string[]> {
  const until = Date.now() + 3000;
  for (;;) {
    const items = await holdfast.store.readItems("default", id);
    if (items.at(-1)?.type === "response_record" || Date.now() > until) {
      return items.map((i) => `${i.type}:${String(i.content.status ?? i.role ?? "")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("client disconnect cancels the upstream call", () => {
  let holdfast: HoldfastApp;
  let url: string;
  before(async () => {
    ({ holdfast, url } = await start());
  });
  after(async () => {
    await holdfast?.shutdown(0);
  });

  const cases = [
    { name: "non-streamed /v1/responses", route: "/v1/responses", stream: false, chat: false },
    {
      name: "streamed /v1/responses before the first token",
      route: "/v1/responses",
      stream: true,
      chat: false,
    },
    {
      name: "non-streamed chat with Holdfast-Conversation",
      route: "/v1/chat/completions",
      stream: false,
      chat: true,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const id = await createConversation(url);
      const body = c.chat
        ? { model: "slow", messages: [{ role: "user", content: "hello there" }], stream: c.stream }
        : { model: "slow", input: "hello there", conversation: id, stream: c.stream };
      const headers: Record<string, string> = c.chat ? { "holdfast-conversation": id } : {};
      const took = await abandon(url, c.route, body, headers);
      // Cancelled at once, not when the upstream would have answered.
      assert.ok(took < LATENCY_MS / 2, `upstream request aborted after ${took} ms`);
      assert.deepEqual(await transcript(holdfast, id), ["message:user", "response_record:incomplete"]);
      const record = (await holdfast.store.readItems("default", id)).at(-1)!;
      assert.equal(record.content.incomplete_reason, "interrupted");
      // The upstream had the request, streamed or not: its input counts, estimated
      // (disconnect-usage.test.ts).
      const usage = record.content.usage as { input_tokens: number; estimated?: true };
      assert.ok(usage.estimated && usage.input_tokens > 0, JSON.stringify(usage));
      assert.equal(holdfast.app.inFlightCount(), 0);
      // The conversation is free: the next turn reaches the upstream at once (not held by a claim).
      await abandon(url, c.route, body, headers);
      assert.equal((await transcript(holdfast, id)).length, 4);
    });
  }

  test("a turn whose client left while it queued writes nothing and calls nobody", async () => {
    const id = await createConversation(url);
    const body = { model: "slow", input: "first", conversation: id };
    const first = new AbortController();
    const reached = once(upstream.events, "request");
    const running = post(url, "/v1/responses", body, { signal: first.signal }).catch(() => null);
    await reached;
    const requests = upstream.stats().requests;
    const second = new AbortController();
    // On a connection of its own, to see the server notice the client leaving.
    const own = new Agent();
    const accepted = once(holdfast.app.server, "connection", {
      signal: AbortSignal.timeout(3000),
    }) as Promise<[Socket]>;
    const queued = post(url, "/v1/responses", { ...body, input: "second" }, {
      signal: second.signal,
      dispatcher: own,
    } as RequestInit);
    const [socket] = await accepted;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const gone = once(socket, "close");
    second.abort();
    await assert.rejects(queued, { name: "AbortError" });
    // The server has seen the second client go before the first turn ends and frees the queue.
    await gone;
    first.abort();
    await running;
    assert.deepEqual(await transcript(holdfast, id), ["message:user", "response_record:incomplete"]);
    await own.close();
    // Let the queued turn get its turn and give up.
    const until = Date.now() + 3000;
    while (holdfast.app.inFlightCount() > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(holdfast.app.inFlightCount(), 0);
    assert.equal(upstream.stats().requests, requests);
    assert.deepEqual(await transcript(holdfast, id), ["message:user", "response_record:incomplete"]);
  });

  test("pass-through chat (no conversation) is cancelled too", async () => {
    const took = await abandon(url, "/v1/chat/completions", {
      model: "slow",
      messages: [{ role: "user", content: "hello" }],
    });
    assert.ok(took < LATENCY_MS / 2, `upstream request aborted after ${took} ms`);
    assert.equal(holdfast.app.inFlightCount(), 0);
  });
});

describe("shutdown with a non-streamed turn in flight", () => {
  test("returns within the deadline, the turn answered and committed as incomplete", {
    timeout: 10_000,
  }, async () => {
    const { holdfast, url } = await start();
    const id = await createConversation(url);
    const reached = once(upstream.events, "request");
    const answer = post(url, "/v1/responses", { model: "slow", input: "hello", conversation: id });
    await reached;
    const upstreamAborted = once(upstream.events, "aborted");
    const started = Date.now();
    const aborted = await holdfast.shutdown(200);
    const took = Date.now() - started;
    assert.equal(aborted, 1);
    assert.ok(took < 200 + 2000, `shutdown(200) took ${took} ms`);
    await upstreamAborted;
    const res = await answer;
    assert.equal(res.status, 200);
    const response = (await res.json()) as { status: string; incomplete_details: { reason: string } };
    assert.equal(response.status, "incomplete");
    assert.equal(response.incomplete_details.reason, "interrupted");
  });
});
