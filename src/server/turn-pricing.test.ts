/**
 * A turn is priced at the model that served it: a route alias (no price of its own) at its
 * target's model, a fallback at the fallback target's model rather than at the first target's,
 * streamed or not. The upstreams report 5 input and 3 output tokens per call.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RECORD_TYPE, type ResponseRecord } from "../engine/turn/record.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";
import { type FakeUpstreamServer, startFakeUpstreamServer } from "./fake-upstream-server.ts";
import { openSdkGateway, type SdkGateway } from "./sdk-test-gateway.ts";

/** USD of 5 input and 3 output tokens at per-1M prices. */
const price = (input: number, output: number): number => (5 * input + 3 * output) / 1_000_000;

describe("turns are priced at the model that served them", () => {
  let good: FakeChatUpstream;
  let failing: FakeUpstreamServer;
  let store: SessionStore;
  let gw: SdkGateway;

  before(async () => {
    good = await startFakeChatUpstream(() => ({ content: "Hello." }));
    failing = await startFakeUpstreamServer((_n, _body, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "down" } }));
    });
    store = await createStore("memory:");
    gw = await openSdkGateway(store, {
      retry: { maxRetries: 0 },
      providers: [
        { name: "failing", type: "openai-chat", baseUrl: failing.baseUrl },
        { name: "good", type: "openai-chat", baseUrl: good.baseUrl },
      ],
      models: { priced: { pricing: { input: 1, output: 2 } } },
      routes: {
        smart: [{ provider: "good", model: "gpt-4o" }],
        // Named after the first target's model, served by the fallback's.
        "gpt-4o": [
          { provider: "failing", model: "gpt-4o" },
          { provider: "good", model: "gpt-4o-mini" },
        ],
        // An alias the operator priced, served by a model nobody prices.
        priced: [{ provider: "good", model: "my-local-model" }],
      },
    });
  });
  after(async () => {
    await gw.close();
    await good.close();
    await failing.close();
  });

  async function lastRecord(conversation: string): Promise<ResponseRecord> {
    const items = await store.readItems("default", conversation, { limit: 1000 });
    const records = items.filter((item) => item.type === RECORD_TYPE);
    return records.at(-1)!.content as unknown as ResponseRecord;
  }

  const cases: [string, number][] = [
    ["smart", price(2.5, 10)],
    ["gpt-4o", price(0.15, 0.6)],
    ["priced", price(1, 2)],
  ];
  for (const stream of [false, true]) {
    for (const [model, expected] of cases) {
      test(`${model}${stream ? ", streamed" : ""}`, async () => {
        const conversation = await gw.client.conversations.create({});
        const request = { model, input: "Hi", conversation: conversation.id };
        if (stream) {
          for await (const _event of await gw.client.responses.create({ ...request, stream: true })) {
            // drained
          }
        } else {
          await gw.client.responses.create(request);
        }
        const record = await lastRecord(conversation.id);
        assert.equal(record.status, "completed");
        assert.equal(record.served_by?.provider, "good");
        assert.ok(record.cost_usd !== null, `${model} was recorded without a cost`);
        assert.ok(Math.abs(record.cost_usd - expected) < 1e-12, `${record.cost_usd} != ${expected}`);
        const usage = await gw.t.app.inject({ url: `/v1/conversations/${conversation.id}/usage` });
        const total = (usage.json() as { total: { cost_usd: number } }).total.cost_usd;
        assert.ok(Math.abs(total - expected) < 1e-12, `usage route total ${total} != ${expected}`);
      });
    }
  }
});
