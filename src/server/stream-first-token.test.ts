/**
 * A streamed turn writes its first token to the client at once. An upstream read that holds the
 * whole answer (a short reply, a fast upstream) is handled in one macrotask together with the rest
 * of its events and the start of the turn's commit; coalescing writes to the end of that macrotask
 * held the first token back until the commit's preparation (outputs, record, token counts) had run.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { createGateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import { DelegatingStore } from "../store/decorators/delegating-store.ts";
import type { AppendOptions, AppendResult, ItemInput } from "../store/types.ts";
import { listenLocal } from "./sdk-test-gateway.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

/** A Chat Completions upstream that sends its whole streamed answer in one write. */
function oneWriteUpstream(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const chunk = (delta: object, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: "c", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        chunk({ role: "assistant", content: "" }) +
          ["Hello", " there", ", how", " are", " you?"].map((text) => chunk({ content: text })).join("") +
          chunk({}, "stop") +
          "data: [DONE]\n\n",
      );
    });
  });
}

/** Calls `onOutput` when a turn appends its answer (more than one item: outputs + record). */
class WatchedStore extends DelegatingStore {
  onOutput: () => void = () => {};

  override append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    if (items.length > 1) this.onOutput();
    return super.append(tenant, id, items, options);
  }
}

describe("the first token of a stream", () => {
  let upstream: Server;
  let t: TestApp;
  let store: WatchedStore;
  let closeGateway: () => Promise<void>;
  /** What the client was sent of the current stream, in socket writes. */
  let writes: string[] = [];

  before(async () => {
    upstream = oneWriteUpstream();
    const port = await listenLocal(upstream);
    store = new WatchedStore(await createStore("memory:"));
    const providers = {
      providers: [{ name: "chat", type: "openai-chat", baseUrl: `http://127.0.0.1:${port}/v1` }],
    };
    const gateway = createGateway({
      store,
      providers: createProviderLayer(parseProvidersConfig(providers, {}), { env: {} }),
    });
    closeGateway = () => gateway.close();
    t = await openTestApp({ store, gateway: { engine: gateway.engine, models: gateway.models } });
    t.app.addHook("onRequest", (_request, reply, done) => {
      const raw = reply.raw;
      const write = raw.write.bind(raw) as (chunk: unknown, ...rest: unknown[]) => boolean;
      raw.write = ((chunk: unknown, ...rest: unknown[]) => {
        writes.push(String(chunk));
        return write(chunk, ...rest);
      }) as typeof raw.write;
      done();
    });
  });
  after(async () => {
    await t.close();
    await closeGateway();
    await new Promise((resolve) => upstream.close(resolve));
  });

  /** Streams one turn; answers what the client had been sent when the turn began to store its answer. */
  async function sentBeforeCommit(url: string, payload: object, headers: Record<string, string> = {}) {
    writes = [];
    let sent: string | null = null;
    store.onOutput = () => {
      sent = writes.join("");
    };
    const res = await t.app.inject({ method: "POST", url, payload, headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.notEqual(sent, null, "the turn stored its answer");
    return { sent: sent as unknown as string, body: res.body };
  }

  test("Responses: the first output_text.delta is out before the turn's commit begins", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id as string;
    const { sent, body } = await sentBeforeCommit("/v1/responses", {
      model: "m",
      input: "hi",
      stream: true,
      conversation: conv,
    });
    assert.match(sent, /event: response\.created\n/);
    assert.match(sent, /event: response\.output_text\.delta\ndata: \{[^\n]*"delta":"Hello"/);
    assert.doesNotMatch(sent, /response\.completed/);
    // Everything before the first token went out in the same write as the token.
    assert.equal(
      writes.findIndex((w) => w.includes("response.created")),
      writes.findIndex((w) => w.includes('"delta":"Hello"')),
    );
    assert.match(body, /event: response\.completed\n/);
  });

  test("Chat Completions: the first content chunk is out before the turn's commit begins", async () => {
    const conv = (await t.call("POST", "/v1/conversations", {})).json.id as string;
    const { sent, body } = await sentBeforeCommit(
      "/v1/chat/completions",
      { model: "m", messages: [{ role: "user", content: "hi" }], stream: true },
      { "holdfast-conversation": conv },
    );
    assert.match(sent, /"delta":\{"content":"Hello"\}/);
    assert.doesNotMatch(sent, /\[DONE\]/);
    assert.match(body, /data: \[DONE\]\n\n$/);
  });
});
