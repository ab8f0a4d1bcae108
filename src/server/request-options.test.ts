/**
 * Request options that change what the model produces are passed on, never silently dropped:
 * `text.format` (structured outputs), `text.verbosity` and `reasoning` on `/v1/responses`, and
 * `response_format`, `verbosity`, `reasoning_effort` on chat, translated per upstream API and
 * echoed on the stored response; the sampling extras (`stop`, `seed`, penalties, `logit_bias`,
 * `service_tier`, `prompt_cache_key`, `safety_identifier`, `include`) reach the upstream APIs that
 * take them, and options the gateway cannot honour (`logprobs`, audio, `background`, `prompt`…)
 * are a 400 naming them. Through the official `openai` SDK; a recording proxy in front of the
 * mock upstream shows what each adapter sent. */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";
import type { TestApp } from "./test-helpers.ts";

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
  let close: () => Promise<void>;
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
    ({ client, t, close } = await openSdkGateway(store, {
      providers: [
        { name: "chat", type: "openai-chat", baseUrl: `${proxy.url}/v1` },
        { name: "resp", type: "openai-responses", baseUrl: `${proxy.url}/v1` },
        { name: "claude", type: "anthropic", baseUrl: proxy.url },
      ],
    }));
  });
  after(async () => {
    await close();
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

  test("the Response object echoes the request's routing, caching and identity fields, everywhere", async () => {
    const { id: conv } = await client.conversations.create({});
    const asked = {
      service_tier: "flex" as const,
      prompt_cache_key: "cache-7",
      safety_identifier: "user-hash-1",
      user: "end-user-1",
      max_tool_calls: 3,
    };
    const expected = { ...asked, top_logprobs: 0, background: false, store: true };
    const echoed = (r: OpenAI.Responses.Response) =>
      Object.fromEntries(Object.keys(expected).map((key) => [key, r[key as keyof typeof r]]));
    const created = await client.responses.create({
      model: "chat/m",
      input: "hi",
      conversation: conv,
      ...asked,
    });
    assert.deepEqual(echoed(created), expected);
    assert.deepEqual(echoed(await client.responses.retrieve(created.id)), expected);
    const stream = await client.responses.create({
      model: "resp/m",
      input: "hi",
      conversation: conv,
      stream: true,
      ...asked,
    });
    const events: OpenAI.Responses.Response[] = [];
    for await (const event of stream)
      if (event.type === "response.created" || event.type === "response.completed")
        events.push(event.response);
    assert.equal(events.length, 2);
    for (const response of events) assert.deepEqual(echoed(response), expected);

    // Without them: OpenAI's defaults; and store: false is echoed as false.
    const plain = await client.responses.create({ model: "chat/m", input: "hi", store: false });
    assert.deepEqual(echoed(plain), {
      service_tier: "auto",
      prompt_cache_key: null,
      safety_identifier: null,
      user: null,
      max_tool_calls: null,
      top_logprobs: 0,
      background: false,
      store: false,
    });
  });

  // Within the body limit (1 MiB), but over what the response record has room for (store item limit 1 MiB).
  test("a user or prompt_cache_key too large to keep with the response is refused before the turn", async () => {
    const { id: conv } = await client.conversations.create({});
    for (const key of ["user", "prompt_cache_key"]) {
      const res = await t.call("POST", "/v1/responses", {
        model: "chat/m",
        input: "hi",
        conversation: conv,
        [key]: "x".repeat(1_040_000),
      });
      assert.equal(res.status, 413, JSON.stringify(res.json));
      assert.equal(res.json.error.param, key);
    }
    const items = await client.conversations.items.list(conv);
    assert.equal(items.data.length, 0, "nothing was written");
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

  /** `run` is a 400 invalid_argument naming `param`, and nothing was written: no session, `conv` empty. */
  const refused = async (run: () => Promise<unknown>, param: string, conv: string) => {
    const count = (await t.store.list("default", { limit: 1000 })).data.length;
    await assert.rejects(run(), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.code, "invalid_argument");
      assert.equal(error.param, param);
      return true;
    });
    assert.equal((await t.store.list("default", { limit: 1000 })).data.length, count);
    assert.equal((await t.store.get("default", conv)).itemCount, 0);
  };
  const responses = (extra: object) => () =>
    client.responses.create({
      model: "chat/m",
      input: "hi",
      ...extra,
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
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

  test("bad shapes are 400 naming the field, and write nothing", async () => {
    const { id: conv } = await client.conversations.create({});
    await refused(responses({ text: "json" }), "text", conv);
    await refused(responses({ text: { format: { type: "xml" } } }), "text.format.type", conv);
    await refused(responses({ text: { format: { ...FORMAT, name: "a b" } } }), "text.format.name", conv);
    await refused(
      responses({ text: { format: { type: "json_schema", name: "a" } } }),
      "text.format.schema",
      conv,
    );
    await refused(responses({ text: { format: { ...FORMAT, strict: "yes" } } }), "text.format.strict", conv);
    await refused(responses({ text: { format: { type: "text", schema: {} } } }), "text.format.schema", conv);
    await refused(responses({ text: { verbosity: "loud" } }), "text.verbosity", conv);
    await refused(responses({ text: { formats: FORMAT } }), "text.formats", conv);
    await refused(responses({ reasoning: "high" }), "reasoning", conv);
    await refused(responses({ reasoning: { effort: "extreme" } }), "reasoning.effort", conv);
    await refused(responses({ reasoning: { summary: "long" } }), "reasoning.summary", conv);
    await refused(
      responses({ text: { format: { type: "xml" } }, conversation: conv }),
      "text.format.type",
      conv,
    );
    await refused(chat({ response_format: { type: "json_schema" } }), "response_format.json_schema", conv);
    await refused(
      chat({ response_format: { type: "json_schema", json_schema: { name: "a", schema: 5 } } }),
      "response_format.json_schema.schema",
      conv,
    );
    await refused(chat({ response_format: { type: "yaml" } }), "response_format.type", conv);
    await refused(chat({ reasoning_effort: "extreme" }), "reasoning_effort", conv);
    await refused(chat({ verbosity: 3 }), "verbosity", conv);
    await refused(chat({ n: 0 }), "n", conv);
    await refused(chat({ n: 2 }), "n", conv);
    await refused(chat({ n: 2 }, { "Holdfast-Conversation": conv }), "n", conv);
  });

  const EXTRAS = {
    service_tier: "flex",
    prompt_cache_key: "cache-1",
    safety_identifier: "user-1",
  } as const;
  const CHAT_ONLY = {
    stop: ["END", "STOP"],
    seed: 7,
    presence_penalty: 0.5,
    frequency_penalty: -0.5,
    logit_bias: { "50256": -100 },
  };
  const has = (body: object, keys: string[]) => keys.filter((key) => key in body);

  test("chat: stop, seed, penalties, logit_bias and OpenAI's hints reach each upstream in its API's form", async () => {
    const messages = [{ role: "user" as const, content: "hi" }];
    await client.chat.completions.create({ model: "chat/m", messages, ...CHAT_ONLY, ...EXTRAS });
    const sent = last("/chat/completions");
    for (const [key, value] of Object.entries({ ...CHAT_ONLY, ...EXTRAS }))
      assert.deepEqual(sent[key], value, key);

    await client.chat.completions.create({ model: "chat/m", messages, stop: "END" });
    assert.deepEqual(last("/chat/completions").stop, ["END"]);

    // The Responses API has no stop, seed, penalties or logit_bias: only the hints go.
    await client.chat.completions.create({ model: "resp/m", messages, ...CHAT_ONLY, ...EXTRAS });
    const viaResponses = last("/responses");
    assert.deepEqual(has(viaResponses, Object.keys(CHAT_ONLY)), []);
    for (const [key, value] of Object.entries(EXTRAS)) assert.equal(viaResponses[key], value, key);

    // Anthropic: stop_sequences, and the safety identifier as its user id; nothing else of these.
    await client.chat.completions.create({ model: "claude/m", messages, ...CHAT_ONLY, ...EXTRAS, user: "u" });
    const viaClaude = last("/v1/messages");
    assert.deepEqual(viaClaude.stop_sequences, ["END", "STOP"]);
    assert.deepEqual(viaClaude.metadata, { user_id: "user-1" });
    assert.deepEqual(has(viaClaude, [...Object.keys(CHAT_ONLY), ...Object.keys(EXTRAS)]), []);

    // Defaults of the refused fields, and the ignored ones, are accepted; nothing of them is sent.
    const streamed = await client.chat.completions.create({
      model: "chat/m",
      messages,
      stream: true,
      stream_options: { include_usage: true, include_obfuscation: false },
      store: true,
      logprobs: false,
      top_logprobs: 0,
      modalities: ["text"],
      prediction: null,
      audio: null,
      functions: [],
      prompt_cache_retention: "24h",
    });
    for await (const _ of streamed);
    assert.deepEqual(has(last("/chat/completions"), ["store", "logprobs", "top_logprobs", "modalities"]), []);
  });

  test("responses: service_tier, prompt_cache_key, safety_identifier and include, per adapter", async () => {
    const options = {
      input: "hi",
      ...EXTRAS,
      include: [
        "reasoning.encrypted_content",
        "message.input_image.image_url",
      ] as OpenAI.Responses.ResponseIncludable[],
    };
    await client.responses.create({ model: "resp/m", ...options });
    const sent = last("/responses");
    for (const [key, value] of Object.entries(EXTRAS)) assert.equal(sent[key], value, key);
    assert.deepEqual(sent.include, ["reasoning.encrypted_content"], "only what the upstream produces");

    await client.responses.create({ model: "chat/m", ...options });
    const viaChat = last("/chat/completions");
    for (const [key, value] of Object.entries(EXTRAS)) assert.equal(viaChat[key], value, key);
    assert.equal("include" in viaChat, false);

    await client.responses.create({ model: "claude/m", ...options });
    assert.deepEqual(last("/v1/messages").metadata, { user_id: "user-1" });

    // Defaults of the refused fields and the ignored ones pass; without extras nothing is sent.
    await client.responses.create({
      model: "resp/m",
      input: "hi",
      background: false,
      top_logprobs: 0,
      include: [],
      prompt: null,
      max_tool_calls: 3,
      context_management: [],
      prompt_cache_retention: "in_memory",
    });
    assert.deepEqual(
      has(last("/responses"), [
        "include",
        "background",
        "top_logprobs",
        "max_tool_calls",
        ...Object.keys(EXTRAS),
      ]),
      [],
    );
  });

  test("options the gateway cannot honour, or malformed, are 400 naming them and write nothing", async () => {
    const { id: conv } = await client.conversations.create({});
    const onConv = { "Holdfast-Conversation": conv };
    await refused(chat({ stop: ["a", "b", "c", "d", "e"] }), "stop", conv);
    await refused(chat({ stop: [""] }), "stop", conv);
    await refused(chat({ seed: 1.5 }), "seed", conv);
    await refused(chat({ presence_penalty: 3 }), "presence_penalty", conv);
    await refused(chat({ frequency_penalty: "high" }), "frequency_penalty", conv);
    await refused(chat({ logit_bias: { hello: 1 } }), "logit_bias", conv);
    await refused(chat({ logit_bias: { "50256": 101 } }), "logit_bias.50256", conv);
    await refused(chat({ service_tier: "gold" }), "service_tier", conv);
    await refused(chat({ safety_identifier: "x".repeat(129) }), "safety_identifier", conv);
    await refused(chat({ prompt_cache_key: 5 }), "prompt_cache_key", conv);
    await refused(chat({ logprobs: true }), "logprobs", conv);
    await refused(chat({ logprobs: true }, onConv), "logprobs", conv);
    await refused(chat({ top_logprobs: 2 }), "top_logprobs", conv);
    await refused(chat({ modalities: ["text", "audio"] }), "modalities", conv);
    await refused(chat({ audio: { voice: "alloy", format: "mp3" } }), "audio", conv);
    await refused(chat({ prediction: { type: "content", content: "x" } }, onConv), "prediction", conv);
    await refused(chat({ functions: [{ name: "f" }] }), "functions", conv);
    await refused(chat({ web_search_options: {} }), "web_search_options", conv);
    await refused(chat({ store: "yes" }), "store", conv);
    await refused(chat({ max_tokens: 10, max_completion_tokens: 20 }), "max_tokens", conv);
    await refused(chat({ stream_options: { include_usage: "yes" } }), "stream_options.include_usage", conv);
    await refused(chat({ stream: true, logprobs: true }, onConv), "logprobs", conv);

    await refused(responses({ background: true }), "background", conv);
    await refused(responses({ background: true, conversation: conv }), "background", conv);
    await refused(responses({ prompt: { id: "pmpt_1" } }), "prompt", conv);
    await refused(responses({ top_logprobs: 3 }), "top_logprobs", conv);
    await refused(responses({ include: ["message.output_text.logprobs"] }), "include[0]", conv);
    await refused(responses({ include: ["reasoning.encrypted_content", "nope"] }), "include[1]", conv);
    await refused(responses({ include: "reasoning.encrypted_content" }), "include", conv);
    await refused(responses({ service_tier: "gold", conversation: conv }), "service_tier", conv);
    await refused(responses({ context_management: [{ type: "compaction" }] }), "context_management", conv);
    await refused(responses({ moderation: {} }), "moderation", conv);
    await refused(responses({ stream_options: { obfuscate: true } }), "stream_options.obfuscate", conv);
    await refused(responses({ stream: true, prompt: { id: "pmpt_1" }, conversation: conv }), "prompt", conv);
    // Chat-only fields are not Responses fields: unknown there, and ignored as before.
    await client.responses.create({ model: "chat/m", input: "hi", seed: "x" } as never);
    assert.equal("seed" in last("/chat/completions"), false);
  });
});
