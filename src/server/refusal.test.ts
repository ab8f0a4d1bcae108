/**
 * A refusal from a Responses upstream reaches clients as OpenAI sends one: on `/v1/responses` a
 * content part of type `refusal` streamed with `response.refusal.delta` / `.done`, on
 * `/v1/chat/completions` the message's `refusal` (`delta.refusal` when streamed). It used to be
 * dropped from streams: chat clients got no content at all, and Responses streams announced an
 * `output_text` part that ended empty while the final item held a refusal.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { type FakeResponsesUpstream, startFakeResponsesUpstream } from "./fake-responses-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

const REFUSAL = "I'm sorry, I can't help with that.";

describe("a refusal from a Responses upstream", () => {
  let upstream: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    upstream = await startFakeResponsesUpstream(() => [
      {
        type: "message",
        id: "msg_up",
        role: "assistant",
        status: "completed",
        content: [{ type: "refusal", refusal: REFUSAL }],
      },
    ]);
    const store = await createStore("memory:");
    ({ client, close } = await openSdkGateway(store, {
      providers: [{ name: "resp", type: "openai-responses", baseUrl: upstream.baseUrl }],
    }));
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  /** The typed events of a Responses stream, and its final response, through the SDK. */
  async function streamed(options: { idempotencyKey?: string } = {}) {
    const stream = client.responses.stream(
      { model: "resp/m", input: "do something bad" },
      options.idempotencyKey ? { headers: { "Idempotency-Key": options.idempotencyKey } } : {},
    );
    const events: { type: string; [key: string]: unknown }[] = [];
    for await (const event of stream) events.push(event as unknown as (typeof events)[number]);
    return { events, final: await stream.finalResponse() };
  }

  function checkRefusalEvents(events: { type: string; [key: string]: unknown }[]): void {
    const types = events.map((event) => event.type);
    assert.ok(!types.some((type) => type.startsWith("response.output_text")), types.join(", "));
    const added = events.find((event) => event.type === "response.content_part.added");
    assert.deepEqual(added?.part, { type: "refusal", refusal: "" });
    const deltas = events.filter((event) => event.type === "response.refusal.delta");
    assert.ok(deltas.length >= 1);
    assert.equal(deltas.map((event) => event.delta).join(""), REFUSAL);
    const done = events.find((event) => event.type === "response.refusal.done");
    assert.equal(done?.refusal, REFUSAL);
    const partDone = events.find((event) => event.type === "response.content_part.done");
    assert.deepEqual(partDone?.part, { type: "refusal", refusal: REFUSAL });
    for (const event of [added, done, partDone, ...deltas]) assert.equal(event?.content_index, 0);
  }

  test("Responses stream: a refusal part, its deltas and its done event", async () => {
    const { events, final } = await streamed();
    checkRefusalEvents(events);
    const message = final.output[0];
    const parts = message?.type === "message" ? message.content : [];
    assert.deepEqual(
      parts.map((part) => [part.type, part.type === "refusal" ? part.refusal : part.text]),
      [["refusal", REFUSAL]],
    );
  });

  test("Responses stream replayed for an idempotent retry: the same refusal events", async () => {
    const first = await streamed({ idempotencyKey: "refusal-retry" });
    const again = await streamed({ idempotencyKey: "refusal-retry" });
    assert.equal(again.final.id, first.final.id);
    checkRefusalEvents(again.events);
  });

  test("Chat Completions: the refusal field, streamed and not", async () => {
    const messages = [{ role: "user" as const, content: "do something bad" }];
    const plain = await client.chat.completions.create({ model: "resp/m", messages });
    assert.equal(plain.choices[0]?.message.refusal, REFUSAL);
    assert.equal(plain.choices[0]?.message.content, null);

    const stream = await client.chat.completions.create({ model: "resp/m", messages, stream: true });
    let refusal = "";
    let content = "";
    for await (const chunk of stream) {
      refusal += chunk.choices[0]?.delta.refusal ?? "";
      content += chunk.choices[0]?.delta.content ?? "";
    }
    assert.equal(refusal, REFUSAL);
    assert.equal(content, "");
  });
});
