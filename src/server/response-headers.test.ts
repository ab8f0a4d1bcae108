/**
 * Every answer of the API, errors and streams included, forbids caching (`no-store`: transcripts
 * must not stay in a shared proxy or browser cache) and content sniffing; conditional requests
 * keep working (`no-store` does not forbid ETags).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createMetrics } from "../observability/create-metrics.ts";
import { registerMetrics } from "../observability/metrics.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";
import { userMessage } from "./test-helpers.ts";

function assertPrivate(res: Response, what: string): void {
  assert.equal(res.headers.get("cache-control"), "no-store", `${what}: cache-control`);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff", `${what}: x-content-type-options`);
}

describe("API response headers", () => {
  let store: SessionStore;
  let gateway: Gateway;
  let base: string;
  let close: () => Promise<void>;

  before(async () => {
    store = await createStore("memory:");
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    const app = await createServer({ store, gateway: { engine: gateway.engine, models: gateway.models } });
    registerMetrics(app, { metrics: createMetrics({ defaultMetrics: false }) });
    await app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = async () => {
      await app.close();
      await gateway.close();
      await store.close();
    };
  });
  after(() => close());

  async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    return { res, text: await res.text() };
  }

  test("conversations, items, window, usage, responses, chat completions, metrics: no-store and nosniff", async () => {
    const created = await send("POST", "/v1/conversations", { items: [userMessage("a private sentence")] });
    assert.equal(created.res.status, 200, created.text);
    assertPrivate(created.res, "create");
    const id = (JSON.parse(created.text) as { id: string }).id;

    const got = await send("GET", `/v1/conversations/${id}`);
    assertPrivate(got.res, "retrieve");
    const etag = got.res.headers.get("etag");
    assert.ok(etag, "conversations keep their ETag");
    const unchanged = await send("GET", `/v1/conversations/${id}`, undefined, { "if-none-match": etag });
    assert.equal(unchanged.res.status, 304, "conditional GET still answers 304");
    assert.equal(unchanged.res.headers.get("etag"), etag);
    assertPrivate(unchanged.res, "304");

    const response = await send("POST", "/v1/responses", { model: "mock", input: "hello", conversation: id });
    assert.equal(response.res.status, 200, response.text);
    assertPrivate(response.res, "responses.create");
    const responseId = (JSON.parse(response.text) as { id: string }).id;

    for (const path of [
      `/v1/conversations/${id}/items`,
      `/v1/conversations/${id}/window?max_tokens=1000`,
      `/v1/conversations/${id}/usage`,
      `/v1/responses/${responseId}`,
      `/v1/responses/${responseId}/input_items`,
      "/v1/models",
      "/metrics",
      "/healthz",
    ]) {
      const r = await send("GET", path);
      assert.equal(r.res.status, 200, `${path}: ${r.text}`);
      assertPrivate(r.res, path);
    }
    const chat = await send("POST", "/v1/chat/completions", {
      model: "mock",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(chat.res.status, 200, chat.text);
    assertPrivate(chat.res, "chat.completions");
  });

  test("error answers carry them too: 404, 400, unknown route, malformed URL", async () => {
    const missing = await send("GET", `/v1/conversations/conv_${"0".repeat(32)}`);
    assert.equal(missing.res.status, 404);
    assertPrivate(missing.res, "404");
    const badJson = await send("POST", "/v1/conversations", "{not json");
    assert.equal(badJson.res.status, 400);
    assertPrivate(badJson.res, "invalid json");
    const unknown = await send("GET", "/v1/nothing-here");
    assert.equal(unknown.res.status, 404);
    assertPrivate(unknown.res, "unknown route");
    const badUrl = await send("GET", "/v1/conversations/%zz");
    assert.equal(badUrl.res.status, 400, badUrl.text);
    assertPrivate(badUrl.res, "malformed URL");
  });

  test("streams: no-store (not no-cache) on the event stream of responses and chat completions", async () => {
    const stream = await send("POST", "/v1/responses", { model: "mock", input: "hello", stream: true });
    assert.equal(stream.res.status, 200, stream.text);
    assert.match(String(stream.res.headers.get("content-type")), /^text\/event-stream/);
    assertPrivate(stream.res, "responses stream");
    const chat = await send("POST", "/v1/chat/completions", {
      model: "mock",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(chat.res.status, 200, chat.text);
    assertPrivate(chat.res, "chat stream");
  });
});
