/**
 * A turn whose answer the store refuses (here: larger than it keeps in one item) used to leave
 * its input unanswered with nothing else to show: no response to retrieve, no usage recorded,
 * nothing logged, and an error naming the store's own list (`param: "items[1]"`). Now the turn's
 * record is committed alone as `failed`, the failure is logged, the client's error speaks of the
 * answer, and no part of the answer (a call without its output) is left in the conversation.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { loggingOptions } from "../observability/logging.ts";
import { createStore } from "../store/create-store.ts";
import {
  type FakeItem,
  type FakeResponsesUpstream,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

const MAX_ITEM_BYTES = 16 * 1024;

const call: FakeItem = {
  type: "function_call",
  call_id: "call_1",
  name: "lookup",
  arguments: '{"q":"x"}',
  status: "completed",
};
const message = (text: string): FakeItem => ({
  type: "message",
  role: "assistant",
  status: "completed",
  content: [{ type: "output_text", text, annotations: [] }],
});
const HUGE = "y".repeat(MAX_ITEM_BYTES + 1000);

/** "write a lot" (last) gets a call and an answer too large to store; anything else a short answer. */
const answer = (n: number, body: Record<string, unknown>): FakeItem[] =>
  JSON.stringify((body.input as unknown[]).at(-1)).includes("write a lot")
    ? [call, message(HUGE)]
    : [message(`short ${n}`)];

describe("a turn whose answer the store refuses", () => {
  let upstream: FakeResponsesUpstream;
  let gateway: Gateway;
  let t: TestApp;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    upstream = await startFakeResponsesUpstream(answer);
    const store = await createStore({ url: "memory:", maxItemBytes: MAX_ITEM_BYTES });
    const providers = parseProvidersConfig(
      { providers: [{ name: "resp", type: "openai-responses", baseUrl: upstream.baseUrl }] },
      {},
    );
    gateway = createGateway({ store, providers: createProviderLayer(providers, { env: {} }) });
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    });
    t = await openTestApp({
      store,
      logging: loggingOptions({ stream }),
      gateway: { engine: gateway.engine, models: gateway.models },
    });
  });
  after(async () => {
    await t.close();
    await gateway.close();
    await upstream.close();
  });

  const turn = (conversation: string, text: string, stream: boolean) =>
    t.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: {
        model: "resp/m",
        input: text,
        conversation,
        stream,
        tools: [{ type: "function", name: "lookup" }],
      },
    });

  for (const stream of [true, false]) {
    test(`${stream ? "streamed" : "non-streamed"}: the failure is told, recorded and logged; the next turn runs`, async () => {
      logs.length = 0;
      const conv = (await t.call("POST", "/v1/conversations", {})).json.id as string;
      const first = await turn(conv, "write a lot", stream);
      let error: Record<string, unknown>;
      if (stream) {
        assert.equal(first.statusCode, 200);
        const events = first.body
          .split("\n\n")
          .filter((block) => block.startsWith("event: "))
          .map((block) => JSON.parse(block.slice(block.indexOf("data: ") + 6)) as Record<string, unknown>);
        error = events.at(-1) ?? {};
        assert.equal(error.type, "error");
        const responseId = (events[0]?.response as { id?: string } | undefined)?.id;
        // The turn is there to see, failed, with the usage it spent.
        const stored = await t.call("GET", `/v1/responses/${responseId}`);
        assert.equal(stored.status, 200);
        assert.equal(stored.json.status, "failed");
        assert.equal(stored.json.error.code, "payload_too_large");
        assert.deepEqual(stored.json.output, []);
        assert.equal(stored.json.usage.output_tokens, 3);
      } else {
        assert.equal(first.statusCode, 413, first.body.slice(0, 600));
        error = JSON.parse(first.body).error;
      }
      assert.equal(error.code, "payload_too_large");
      assert.equal(error.param, null, "no field of the request is at fault");
      assert.match(String(error.message), /answer could not be stored: output\[1\] is \d+ bytes/);
      assert.ok(
        logs.some((line) => line.msg === "turn commit failed" && line.level === 50),
        "the refused commit is logged",
      );
      const usage = await t.call("GET", `/v1/conversations/${conv}/usage`);
      assert.equal(usage.json.total.turns, 1, "the usage ledger counts the failed turn");
      assert.equal(usage.json.total.output_tokens, 3);

      // No call without its output was left behind: the next turn (truncation disabled) runs.
      const second = await t.call("POST", "/v1/responses", {
        model: "resp/m",
        input: "short please",
        conversation: conv,
      });
      assert.equal(second.status, 200, JSON.stringify(second.json));
      assert.match(second.json.output[0].content[0].text, /^short \d+$/);
      const items = await t.call("GET", `/v1/conversations/${conv}/items?order=asc`);
      assert.deepEqual(
        items.json.data.map((item: { type: string; role?: string }) => `${item.type}:${item.role ?? ""}`),
        ["message:user", "message:user", "message:assistant"],
      );
    });
  }
});
