/**
 * A turn's token reservation settles at everything it spent upstream: its own call plus the
 * summarizer calls of the compaction it triggered (the fake upstream reports 1,000 + 200 tokens
 * per summarizer call, 5 + 3 per turn). They used to be left out of the token budget.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createSecurity } from "../security/create-security.ts";
import { createRateLimiter } from "../security/rate-limit/limiter.ts";
import { createStore } from "../store/create-store.ts";
import { countingBackend } from "./counting-rate-limit-backend.ts";
import { createServer } from "./create-server.ts";
import { type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";

const SUMMARY = '{"goal":"g","decisions":[],"facts":["f"],"open_items":[],"recent_context":"r"}';

let upstream: FakeChatUpstream;
let gateway: Gateway;
let app: FastifyInstance;
let summarizerCalls = 0;
const backend = countingBackend();
const headers: Record<string, string> = { "content-type": "application/json" };

before(async () => {
  upstream = await startFakeChatUpstream((_n, body) => {
    const first = (body.messages as { content?: unknown }[])[0];
    if (typeof first?.content !== "string" || !first.content.startsWith("You compact")) {
      return { content: "Hello." };
    }
    summarizerCalls++;
    return { content: SUMMARY, usage: { prompt_tokens: 1000, completion_tokens: 200 } };
  });
  const store = await createStore("memory:");
  const security = createSecurity({ store });
  const key = await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] });
  headers.authorization = `Bearer ${key.secret}`;
  const providers = {
    providers: [{ name: "up", type: "openai-chat", baseUrl: upstream.baseUrl }],
    models: { small: { contextWindow: 20_000, maxOutputTokens: 1000 } },
    routes: { small: [{ provider: "up", model: "gpt-4o-mini" }] },
  };
  gateway = createGateway({
    store,
    providers: createProviderLayer(parseProvidersConfig(providers, {}), { env: {} }),
  });
  const limiter = createRateLimiter({ backend, perKey: { tokensPerMinute: 1_000_000 } });
  app = await createServer({
    store,
    gateway: { engine: gateway.engine, models: gateway.models },
    security: { security, development: false, limiter },
  });
});
after(async () => {
  await app.close();
  await gateway.close();
  await upstream.close();
});

test("a turn's reservation settles with its compaction's tokens too", async () => {
  const note = (n: number) => ({
    type: "message",
    role: "user",
    content: `note ${n} ${"lorem ipsum dolor sit amet ".repeat(160)}`,
  });
  for (const stream of [false, true]) {
    const created = await app.inject({
      method: "POST",
      url: "/v1/conversations",
      headers,
      payload: { items: Array.from({ length: 20 }, (_, i) => note(i)) },
    });
    assert.equal(created.statusCode, 200, created.body);
    const conversation = (created.json() as { id: string }).id;
    const before = summarizerCalls;
    const net = backend.net();
    const res = await app.inject({
      method: "POST",
      url: "/v1/responses",
      headers,
      payload: { model: "small", input: "Hi", conversation, stream, truncation: "auto" },
    });
    assert.equal(res.statusCode, 200, res.body);
    const calls = summarizerCalls - before;
    assert.ok(calls > 0, "the turn compacted first");
    assert.equal(backend.net() - net, 8 + 1200 * calls, stream ? "streamed" : "plain");
  }
});
