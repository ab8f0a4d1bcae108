/**
 * An upstream that fails mid-stream, after part of the answer went out: the partial output is
 * committed as `incomplete` (`interrupted`, with the error), and the stream ends with OpenAI's
 * `error` event. It used to end with `response.failed` (status `failed`) while
 * `GET /v1/responses/{id}` said `incomplete`: the stream and the stored response disagreed. The
 * `error` event claims no status, and the SDK's stream helpers raise it as they raise OpenAI's.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";
import type { TestApp } from "./test-helpers.ts";

type Event = { type: string; sequence_number: number; [key: string]: unknown };

for (const type of ["openai-chat", "openai-responses"] as const)
  describe(`an ${type} upstream failing mid-stream`, () => {
    let upstream: MockUpstream;
    let close: () => Promise<void>;
    let client: OpenAI;
    let t: TestApp;

    before(async () => {
      upstream = await createMockUpstream();
      const store = await createStore("memory:");
      ({ client, t, close } = await openSdkGateway(store, {
        providers: [
          // Every answer is cut after a few frames: some text went out, then the connection drops.
          { name: "up", type, baseUrl: `${upstream.url}/v1`, headers: { "x-mock-scenario": "cut:5" } },
        ],
      }));
    });
    after(async () => {
      await close();
      await upstream.close();
    });

    test("the stream ends with an error event; the stored response is incomplete with the partial text", async () => {
      const conv = await client.conversations.create({});
      const res = await t.app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: "up/mock", input: "tell me a long story", stream: true, conversation: conv.id },
      });
      assert.equal(res.statusCode, 200);
      const events = res.body
        .split("\n\n")
        .filter((block) => block.startsWith("event: "))
        .map((block) => JSON.parse(block.slice(block.indexOf("data: ") + 6)) as Event);
      const types = events.map((event) => event.type);
      assert.deepEqual(
        events.map((event) => event.sequence_number),
        events.map((_, i) => i),
      );
      const streamed = events
        .filter((event) => event.type === "response.output_text.delta")
        .map((event) => event.delta)
        .join("");
      assert.ok(streamed.length > 0, "part of the answer went out first");
      assert.ok(!types.includes("response.failed"), types.join(", "));
      const last = events.at(-1);
      assert.equal(last?.type, "error");
      assert.equal(last?.code, "upstream_error");
      assert.equal(typeof last?.message, "string");

      const id = String((events[0]?.response as { id?: string } | undefined)?.id);
      const stored = await client.responses.retrieve(id);
      assert.equal(stored.status, "incomplete");
      assert.deepEqual(stored.incomplete_details, { reason: "interrupted" });
      assert.equal(stored.error?.code, "upstream_error");
      assert.equal(stored.output_text, streamed);
    });

    test("the SDK's stream helpers raise it, and the response they saw created is the incomplete one", async () => {
      const conv = await client.conversations.create({});
      const stream = client.responses.stream({
        model: "up/mock",
        input: "another story",
        conversation: conv.id,
      });
      let id = "";
      stream.on("response.created", (event) => {
        id = event.response.id;
      });
      await assert.rejects(
        stream.finalResponse(),
        (error: unknown) => error instanceof OpenAI.APIError && error.code === "upstream_error",
      );
      assert.equal((await client.responses.retrieve(id)).status, "incomplete");
      // The conversation keeps the partial answer and takes the next turn.
      const items = (await client.conversations.items.list(conv.id, { order: "asc" })).data;
      assert.deepEqual(
        items.map((item) => [item.type, item.type === "message" ? (item.status ?? null) : null]),
        [
          ["message", null],
          ["message", "incomplete"],
        ],
      );
    });
  });
