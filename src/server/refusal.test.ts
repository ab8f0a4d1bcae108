/**
 * A refusal reaches clients as OpenAI sends one: on `/v1/responses` a content part of type
 * `refusal` streamed with `response.refusal.delta` / `.done`, on `/v1/chat/completions` the
 * message's `refusal` (`delta.refusal` when streamed), whether a Responses upstream sent it as a
 * refusal part or a Chat Completions upstream as `message.refusal` / `delta.refusal`. It used to be
 * dropped from streams of a Responses upstream (chat clients got no content at all, and Responses
 * streams announced an `output_text` part that ended empty while the final item held a refusal),
 * and a Chat Completions upstream's refusal became plain text.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { startFakeChatUpstream } from "./fake-chat-upstream.ts";
import { startFakeResponsesUpstream } from "./fake-responses-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

const REFUSAL = "I'm sorry, I can't help with that.";

/** An upstream of each type that refuses every request. */
const UPSTREAMS = {
  "openai-responses": () =>
    startFakeResponsesUpstream(() => [
      {
        type: "message",
        id: "msg_up",
        role: "assistant",
        status: "completed",
        content: [{ type: "refusal", refusal: REFUSAL }],
      },
    ]),
  "openai-chat": () => startFakeChatUpstream(() => ({ content: null, refusal: REFUSAL })),
};

for (const [type, start] of Object.entries(UPSTREAMS))
  describe(`a refusal from an ${type} upstream`, () => {
    let upstream: { baseUrl: string; close: () => Promise<void> };
    let close: () => Promise<void>;
    let client: OpenAI;

    before(async () => {
      upstream = await start();
      const store = await createStore("memory:");
      ({ client, close } = await openSdkGateway(store, {
        providers: [{ name: "resp", type, baseUrl: upstream.baseUrl }],
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

    test("a conversation stores the refusal as a refusal part, whichever API asked", async () => {
      const conv = await client.conversations.create({});
      const response = await client.responses.create({
        model: "resp/m",
        input: "bad",
        conversation: conv.id,
      });
      assert.equal(response.output_text, "");
      const messages = [{ role: "user" as const, content: "worse" }];
      const headers = { "Holdfast-Conversation": conv.id };
      const chat = await client.chat.completions.create({ model: "resp/m", messages }, { headers });
      assert.deepEqual([chat.choices[0]?.message.content, chat.choices[0]?.message.refusal], [null, REFUSAL]);
      const items = (await client.conversations.items.list(conv.id, { order: "asc" })).data;
      const answers = items.filter((item) => item.type === "message" && item.role === "assistant");
      assert.equal(answers.length, 2);
      for (const item of answers) {
        assert.deepEqual(item.type === "message" ? item.content : null, [
          { type: "refusal", refusal: REFUSAL },
        ]);
      }
    });
  });

// Chat Completions has an assistant `refusal` field, but the openai-chat adapter serves any
// OpenAI-compatible server, and strict ones refuse message fields they do not know (Gemini's
// endpoint even `refusal: null`): a refusal once in the history would fail every later turn of the
// conversation. The refused turn goes back as the assistant's content, which every server takes.
test("a refusal in the history goes to a Chat Completions upstream as the assistant's content", async () => {
  const upstream = await startFakeChatUpstream((n) =>
    n === 0 ? { content: null, refusal: REFUSAL } : { content: "fine" },
  );
  const { client, close } = await openSdkGateway(await createStore("memory:"), {
    providers: [{ name: "chat", type: "openai-chat", baseUrl: upstream.baseUrl }],
  });
  try {
    const conv = await client.conversations.create({});
    await client.responses.create({ model: "chat/m", input: "bad", conversation: conv.id });
    await client.responses.create({ model: "chat/m", input: "fine?", conversation: conv.id });
    assert.deepEqual(upstream.seen[1]?.messages, [
      { role: "user", content: "bad" },
      { role: "assistant", content: REFUSAL },
      { role: "user", content: "fine?" },
    ]);
  } finally {
    await close();
    await upstream.close();
  }
});
