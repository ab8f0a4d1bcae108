/**
 * Request options that change what the model produces are passed on, never silently dropped:
 * `text.format` (structured outputs), `text.verbosity` and `reasoning` on `/v1/responses`, and
 * `response_format`, `verbosity`, `reasoning_effort` on chat, translated per upstream API and
 * echoed on the stored response. Through the official `openai` SDK; a recording proxy in front
 * of the mock upstream shows what each adapter sent.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { createStore } from "../store/create-store.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

interface Recorded {
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: upstream request bodies of three APIs.
  body: any;
}

/** Forwards every request to `target`, keeping its path and JSON body. */
async function recordingProxy(target: string): Promise<{ url: string; seen: Recorded[]; server: Server }> {
  const seen: Recorded[] = [];
  const server = createHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    seen.push({ path: req.url ?? "", body: JSON.parse(raw.toString("utf8")) });
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method ?? "POST",
      headers: { "content-type": "application/json" },
      body: raw,
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/plain" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

const SCHEMA = {
  type: "object",
  properties: { answer: { type: "string" } },
  required: ["answer"],
  additionalProperties: false,
};
const FORMAT = { type: "json_schema", name: "answer", schema: SCHEMA, strict: true } as const;
const CHAT_FORMAT = {
  type: "json_schema",
  json_schema: { name: "answer", schema: SCHEMA, strict: true },
} as const;

describe("structured outputs and reasoning options reach the upstream", () => {
  let mock: MockUpstream;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let gateway: Gateway;
  let t: TestApp;
  let client: OpenAI;
  const last = (path: string) => {
    const found = proxy.seen.filter((r) => r.path.endsWith(path)).at(-1);
    assert.ok(found, `the upstream received a request on ${path}`);
    return found.body;
  };

  before(async () => {
    mock = await createMockUpstream();
    proxy = await recordingProxy(mock.url);
    const store = await createStore("memory:");
    const providers = parseProvidersConfig(
      {
        providers: [
          { name: "chat", type: "openai-chat", baseUrl: `${proxy.url}/v1` },
          { name: "resp", type: "openai-responses", baseUrl: `${proxy.url}/v1` },
          { name: "claude", type: "anthropic", baseUrl: proxy.url },
        ],
      },
      {},
    );
    gateway = createGateway({ store, providers: createProviderLayer(providers, { env: {} }) });
    t = await openTestApp({ store, gateway: { engine: gateway.engine, models: gateway.models } });
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await t.close();
    await new Promise((resolve) => proxy.server.close(resolve));
    await mock.close();
  });

  test("responses: text.format and reasoning, per adapter, echoed and stored", async () => {
    const options = { input: "hi", text: { format: FORMAT }, reasoning: { effort: "low" as const } };
    const viaChat = await client.responses.create({ model: "chat/m", ...options });
    assert.deepEqual(last("/chat/completions").response_format, CHAT_FORMAT);
    assert.equal(last("/chat/completions").reasoning_effort, "low");
    assert.deepEqual(viaChat.text, { format: FORMAT });
    assert.deepEqual(viaChat.reasoning, { effort: "low", summary: null });
    const stored = await client.responses.retrieve(viaChat.id);
    assert.deepEqual(stored.text, { format: FORMAT });
    assert.equal(stored.reasoning?.effort, "low");

    await client.responses.create({
      model: "resp/m",
      ...options,
      text: { format: FORMAT, verbosity: "low" },
      reasoning: { effort: "high", summary: "auto" },
    });
    assert.deepEqual(last("/responses").text, { format: FORMAT, verbosity: "low" });
    assert.deepEqual(last("/responses").reasoning, { effort: "high", summary: "auto" });

    await client.responses.create({
      model: "chat/m",
      input: "hi",
      text: { format: { type: "json_object" } },
    });
    assert.deepEqual(last("/chat/completions").response_format, { type: "json_object" });

    // Anthropic's Messages API has neither: left out (documented), the turn still runs.
    const viaClaude = await client.responses.create({ model: "claude/m", ...options });
    assert.equal(viaClaude.status, "completed");
    const sent = last("/v1/messages");
    assert.equal("text" in sent || "response_format" in sent || "reasoning" in sent, false);
  });

  test("responses streamed: the options are sent too", async () => {
    const stream = await client.responses.create({
      model: "chat/m",
      input: "hi",
      text: { format: FORMAT },
      stream: true,
    });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === "response.completed") completed = event.response;
    assert.deepEqual(last("/chat/completions").response_format, CHAT_FORMAT);
    assert.deepEqual(completed?.text, { format: FORMAT });
  });

  test("without options nothing is sent and the echo is OpenAI's default", async () => {
    const plain = await client.responses.create({ model: "chat/m", input: "hi" });
    const body = last("/chat/completions");
    assert.equal("response_format" in body || "reasoning_effort" in body, false);
    assert.deepEqual(plain.text, { format: { type: "text" } });
    assert.deepEqual(plain.reasoning, { effort: null, summary: null });
  });

  test("chat: response_format and reasoning_effort, to either OpenAI API", async () => {
    const messages = [{ role: "user" as const, content: "hi" }];
    const options = { messages, response_format: CHAT_FORMAT, reasoning_effort: "high" as const };
    const chat = await client.chat.completions.create({ model: "chat/m", ...options });
    assert.equal(chat.object, "chat.completion");
    assert.deepEqual(last("/chat/completions").response_format, CHAT_FORMAT);
    assert.equal(last("/chat/completions").reasoning_effort, "high");
    await client.chat.completions.create({ model: "resp/m", ...options, verbosity: "high" });
    assert.deepEqual(last("/responses").text, { format: FORMAT, verbosity: "high" });
    assert.deepEqual(last("/responses").reasoning, { effort: "high" });
    const conv = await client.conversations.create({});
    await client.chat.completions.create(
      { model: "chat/m", ...options, n: 1 },
      { headers: { "Holdfast-Conversation": conv.id } },
    );
    const items = await client.conversations.items.list(conv.id);
    assert.equal(items.data.length, 2, "one choice appended");
  });

  test("bad shapes are 400 naming the field, and write nothing", async () => {
    const conv = await client.conversations.create({});
    const refused = async (run: () => Promise<unknown>, param: string) => {
      const count = (await t.store.list("default", { limit: 1000 })).data.length;
      await assert.rejects(run(), (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError, String(error));
        assert.equal(error.code, "invalid_argument");
        assert.equal(error.param, param);
        return true;
      });
      assert.equal((await t.store.list("default", { limit: 1000 })).data.length, count);
      assert.equal((await t.store.get("default", conv.id)).itemCount, 0);
    };
    const responses = (extra: object) => () =>
      client.responses.create({
        model: "chat/m",
        input: "hi",
        ...extra,
      } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    await refused(responses({ text: "json" }), "text");
    await refused(responses({ text: { format: { type: "xml" } } }), "text.format.type");
    await refused(responses({ text: { format: { ...FORMAT, name: "a b" } } }), "text.format.name");
    await refused(responses({ text: { format: { type: "json_schema", name: "a" } } }), "text.format.schema");
    await refused(responses({ text: { format: { ...FORMAT, strict: "yes" } } }), "text.format.strict");
    await refused(responses({ text: { format: { type: "text", schema: {} } } }), "text.format.schema");
    await refused(responses({ text: { verbosity: "loud" } }), "text.verbosity");
    await refused(responses({ text: { formats: FORMAT } }), "text.formats");
    await refused(responses({ reasoning: "high" }), "reasoning");
    await refused(responses({ reasoning: { effort: "extreme" } }), "reasoning.effort");
    await refused(responses({ reasoning: { summary: "long" } }), "reasoning.summary");
    await refused(
      responses({ text: { format: { type: "xml" } }, conversation: conv.id }),
      "text.format.type",
    );
    const chat =
      (extra: object, headers = {}) =>
      () =>
        client.chat.completions.create(
          {
            model: "chat/m",
            messages: [{ role: "user", content: "hi" }],
            ...extra,
          } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
          { headers },
        );
    await refused(chat({ response_format: { type: "json_schema" } }), "response_format.json_schema");
    await refused(
      chat({ response_format: { type: "json_schema", json_schema: { name: "a", schema: 5 } } }),
      "response_format.json_schema.schema",
    );
    await refused(chat({ response_format: { type: "yaml" } }), "response_format.type");
    await refused(chat({ reasoning_effort: "extreme" }), "reasoning_effort");
    await refused(chat({ verbosity: 3 }), "verbosity");
    await refused(chat({ n: 0 }), "n");
    await refused(chat({ n: 2 }), "n");
    await refused(chat({ n: 2 }, { "Holdfast-Conversation": conv.id }), "n");
  });
});
