/**
 * An error a Chat Completions stream ends with once open names the chat request's
 * `messages[m]…`, as the errors before the stream do; its text used to keep the translated body's
 * `input[i]…` (its `param` is null once the stream is open). The built-in adapters refuse what
 * they cannot send before the stream opens; a provider that refuses a part mid-stream (a custom
 * adapter, or one wrapped through `createProviderLayer({ wrapProvider })`) reaches this path.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { createGateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { UnsupportedContentError } from "../engine/providers/errors.ts";
import type { Provider, TurnEvent, TurnRequest } from "../engine/providers/types.ts";
import { requestIndex } from "../engine/providers/unsendable.ts";
import { createStore } from "../store/create-store.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

/** Streams the provider's first event, then refuses the request's audio part (content[1]). */
async function* refuseAudioMidStream(provider: Provider, request: TurnRequest): AsyncGenerator<TurnEvent> {
  const at = request.input.findIndex((item) => JSON.stringify(item).includes('"type":"input_audio"'));
  const origin = at < 0 ? null : requestIndex(request, at);
  for await (const event of provider.stream(request)) {
    yield event;
    if (origin === null) continue;
    const param = `input[${origin}].content[1]`;
    throw new UnsupportedContentError(`${param}: this input_audio part cannot be sent to this model.`, {
      param,
    });
  }
}

let t: TestApp;
let client: OpenAI;
let closeGateway: () => Promise<void>;
before(async () => {
  const layer = createProviderLayer(parseProvidersConfig(undefined, {}), {
    env: {},
    wrapProvider: (provider) => ({
      ...provider,
      stream: (request) => refuseAudioMidStream(provider, request),
    }),
  });
  const store = await createStore("memory:");
  const gateway = createGateway({ store, providers: layer });
  closeGateway = () => gateway.close();
  t = await openTestApp({ store, gateway: { engine: gateway.engine, models: gateway.models } });
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
});
after(async () => {
  await t.close();
  await closeGateway();
});

test("an error after the stream opened names messages[m], not input[i] (openai SDK, streaming)", async () => {
  const stream = await client.chat.completions.create({
    model: "mock",
    stream: true,
    messages: [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Listen." },
          {
            type: "input_audio",
            input_audio: { data: Buffer.from("RIFF").toString("base64"), format: "wav" },
          },
        ],
      },
    ],
  });
  let chunks = 0;
  const error = await (async () => {
    try {
      for await (const _chunk of stream) chunks++;
    } catch (caught) {
      return caught;
    }
    return null;
  })();
  assert.ok(chunks > 0, "the stream had opened");
  assert.ok(error instanceof OpenAI.APIError, String(error));
  assert.match(error.message, /messages\[1\]\.content\[1\]: this input_audio part cannot be sent/);
  assert.doesNotMatch(error.message, /input\[/);
});
