/**
 * `service_tier` reports the tier the upstream says it used, as OpenAI's does ("the processing mode
 * actually used to serve the request … may be different from the value set in the parameter"):
 * on the Response object (created, streamed, retrieved) and on the chat completion (plain and the
 * chunks sent once it is known). It used to echo the tier the client asked for. An upstream that
 * reports none leaves today's answer: the Response echoes the request (or "auto"), a chat
 * completion has no `service_tier`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { startFakeChatUpstream } from "./fake-chat-upstream.ts";
import { startFakeResponsesUpstream } from "./fake-responses-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

/** The tier the upstreams report for the next requests; undefined: none. */
let reported: string | undefined;

const UPSTREAMS = {
  "openai-responses": () =>
    startFakeResponsesUpstream(
      () => [
        {
          type: "message",
          id: "msg_up",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "served", annotations: [] }],
        },
      ],
      () => (reported === undefined ? {} : { service_tier: reported }),
    ),
  "openai-chat": () =>
    startFakeChatUpstream(() => ({
      content: "served",
      ...(reported === undefined ? {} : { service_tier: reported }),
    })),
};

for (const [type, start] of Object.entries(UPSTREAMS))
  describe(`service_tier with an ${type} upstream`, () => {
    let upstream: { close: () => Promise<void> };
    let close: () => Promise<void>;
    let client: OpenAI;

    before(async () => {
      const started = await start();
      upstream = started;
      const store = await createStore("memory:");
      ({ client, close } = await openSdkGateway(store, {
        providers: [{ name: "up", type, baseUrl: started.baseUrl }],
      }));
    });
    after(async () => {
      await close();
      await upstream.close();
    });

    /** The tiers a Responses turn shows: plain, streamed (created and final) and retrieved. */
    async function responseTiers(asked: "auto" | "flex") {
      const plain = await client.responses.create({ model: "up/m", input: "hi", service_tier: asked });
      const stream = client.responses.stream({ model: "up/m", input: "hi", service_tier: asked });
      let created: string | null | undefined;
      stream.on("response.created", (event) => {
        created = event.response.service_tier;
      });
      const final = await stream.finalResponse();
      const retrieved = await client.responses.retrieve(final.id);
      return {
        plain: plain.service_tier,
        created,
        final: final.service_tier,
        retrieved: retrieved.service_tier,
      };
    }

    /** The tiers a chat turn shows: plain, and each streamed chunk's. */
    async function chatTiers(asked: "auto" | "flex") {
      const messages = [{ role: "user" as const, content: "hi" }];
      const plain = await client.chat.completions.create({ model: "up/m", messages, service_tier: asked });
      const stream = await client.chat.completions.create({
        model: "up/m",
        messages,
        service_tier: asked,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: (string | null | undefined)[] = [];
      for await (const chunk of stream) chunks.push(chunk.service_tier);
      return { plain: plain.service_tier, chunks };
    }

    test("the upstream's reported tier, not the one asked for", async () => {
      reported = "priority";
      assert.deepEqual(await responseTiers("auto"), {
        plain: "priority",
        // Not known before the upstream answers: the request's, as OpenAI's response.created shows.
        created: "auto",
        final: "priority",
        retrieved: "priority",
      });
      const chat = await chatTiers("auto");
      assert.equal(chat.plain, "priority");
      // The finish chunk and the usage chunk come after the upstream reported it.
      assert.deepEqual(chat.chunks.slice(-2), ["priority", "priority"]);
    });

    test("an upstream that reports none: the Response echoes the request, a chat completion has none", async () => {
      reported = undefined;
      assert.deepEqual(await responseTiers("flex"), {
        plain: "flex",
        created: "flex",
        final: "flex",
        retrieved: "flex",
      });
      const chat = await chatTiers("flex");
      assert.equal(chat.plain, undefined);
      assert.deepEqual(
        chat.chunks.filter((tier) => tier !== undefined),
        [],
      );
    });
  });
