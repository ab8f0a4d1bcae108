/**
 * A Responses upstream's reasoning streams to the client as it comes. The gateway dropped the
 * upstream's `response.reasoning_summary_text.delta` and `response.reasoning_text.delta` events,
 * so a client showing the model's thinking live (the `openai` SDK's stream helpers, the Agents
 * SDK) saw nothing until `response.output_item.done`. They now stream under the item's Holdfast
 * id (`<upstream id>-hf<16 hex>`), with OpenAI's part events, and the stored item is what streamed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import type { FakeItem } from "./fake-responses-upstream.ts";
import {
  type FakeResponsesUpstream,
  fakeAnswerMessage,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openSdkGatewayOverResponses } from "./sdk-test-gateway.ts";

type Event = { type: string; sequence_number: number; [key: string]: unknown };

const SUMMARY = ["**Greeting** The user says hi.", "I should greet back briefly."];
const THOUGHT = "hi -> greet back";
const BOUND = /^rs_up\d+-hf[0-9a-f]{16}$/;

/** OpenAI's reasoning (a two-part summary, encrypted content) or gpt-oss's (readable text). */
function reasoning(n: number, kind: "summary" | "text"): FakeItem {
  return kind === "summary"
    ? {
        type: "reasoning",
        id: `rs_up${n}`,
        summary: SUMMARY.map((text) => ({ type: "summary_text", text })),
        encrypted_content: `enc-${n}`,
      }
    : {
        type: "reasoning",
        id: `rs_up${n}`,
        summary: [],
        content: [{ type: "reasoning_text", text: THOUGHT }],
      };
}

/** The texts streamed per part index of `field` (`summary_index` or `content_index`). */
function streamedParts(events: Event[], type: string, field: string): string[] {
  const parts: string[] = [];
  for (const event of events.filter((e) => e.type === type)) {
    const index = event[field] as number;
    parts[index] = (parts[index] ?? "") + String(event.delta);
  }
  return parts;
}

describe("reasoning from a Responses upstream, streamed", () => {
  let upstream: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;
  let kind: "summary" | "text" = "summary";
  /** Set by a test to see what reached it while the upstream holds its stream after the reasoning. */
  let held: { release: () => void; released: Promise<void> } | null = null;

  before(async () => {
    upstream = await startFakeResponsesUpstream(
      (n) => [reasoning(n, kind), fakeAnswerMessage(n)],
      () => ({}),
      async () => {
        // Without a test's hold, or if the client never sees a delta: go on after a while, so a
        // gateway that buffers fails the test's assertion instead of hanging it.
        if (held) await Promise.race([held.released, new Promise((resolve) => setTimeout(resolve, 2000))]);
      },
    );
    ({ client, close } = await openSdkGatewayOverResponses(upstream));
  });
  after(() => close());

  function hold(): { release: () => void; byClient: () => boolean } {
    let release = () => {};
    let byClient = false;
    const released = new Promise<void>((resolve) => {
      release = () => {
        byClient = true;
        resolve();
      };
    });
    held = { release, released };
    return { release: () => held?.release(), byClient: () => byClient };
  }

  test("create({stream: true}): summary deltas arrive live, under the bound id, before the answer", async () => {
    kind = "summary";
    const gate = hold();
    const conv = await client.conversations.create({});
    const stream = await client.responses.create({
      model: "resp/m",
      input: "hi",
      conversation: conv.id,
      include: ["reasoning.encrypted_content"],
      stream: true,
    });
    const events: Event[] = [];
    for await (const event of stream) {
      events.push(event as unknown as Event);
      // The upstream is still holding its stream: the delta came through as it was sent.
      if (event.type === "response.reasoning_summary_text.delta") gate.release();
    }
    held = null;
    assert.ok(gate.byClient(), "a summary delta reached the client while the upstream was mid-stream");
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, i) => i),
    );
    assert.equal(JSON.stringify(events).includes("holdfast"), false, "the marker is never shown");
    const added = events.find((event) => event.type === "response.output_item.added");
    const id = String((added?.item as { id?: string } | undefined)?.id);
    assert.match(id, BOUND);
    const shape = events
      .filter((event) => event.output_index === 0)
      .map((event) => [event.type, event.summary_index ?? null]);
    assert.deepEqual(shape, [
      ["response.output_item.added", null],
      ["response.reasoning_summary_part.added", 0],
      ["response.reasoning_summary_text.delta", 0],
      ["response.reasoning_summary_text.delta", 0],
      ["response.reasoning_summary_text.done", 0],
      ["response.reasoning_summary_part.done", 0],
      ["response.reasoning_summary_part.added", 1],
      ["response.reasoning_summary_text.delta", 1],
      ["response.reasoning_summary_text.delta", 1],
      ["response.reasoning_summary_text.done", 1],
      ["response.reasoning_summary_part.done", 1],
      ["response.output_item.done", null],
    ]);
    for (const event of events.filter((e) => e.type.startsWith("response.reasoning_summary")))
      assert.equal(event.item_id, id, event.type);
    const firstText = events.findIndex((event) => event.type === "response.output_text.delta");
    const lastSummary = events.findLastIndex((event) => event.type.startsWith("response.reasoning_summary"));
    assert.ok(lastSummary < firstText, "the reasoning streams before the answer");
    assert.deepEqual(
      streamedParts(events, "response.reasoning_summary_text.delta", "summary_index"),
      SUMMARY,
    );
    const partAdded = events.find((event) => event.type === "response.reasoning_summary_part.added");
    assert.deepEqual(partAdded?.part, { type: "summary_text", text: "" });
    const partDone = events.find((event) => event.type === "response.reasoning_summary_part.done");
    assert.deepEqual(partDone?.part, { type: "summary_text", text: SUMMARY[0] });
    // What streamed is what is stored, under the same id.
    const completed = events.at(-1)?.response as OpenAI.Responses.Response;
    const [stored] = (await client.conversations.items.list(conv.id, { order: "asc" })).data.filter(
      (item) => item.type === "reasoning",
    );
    for (const item of [
      completed.output[0],
      stored,
      (await client.responses.retrieve(completed.id)).output[0],
    ]) {
      assert.equal(item?.type, "reasoning");
      if (item?.type !== "reasoning") continue;
      assert.equal(item.id, id);
      assert.deepEqual(
        item.summary.map((part) => part.text),
        SUMMARY,
      );
      assert.equal(item.encrypted_content, "enc-0");
    }
  });

  test("responses.stream(): the SDK's helper accepts the events and its snapshot holds the summary", async () => {
    kind = "summary";
    const stream = client.responses.stream({ model: "resp/m", input: "hi" });
    const order: string[] = [];
    let summary = "";
    stream.on("response.reasoning_summary_text.delta", (event) => {
      summary += event.delta;
      order.push("reasoning");
    });
    stream.on("response.output_text.delta", () => order.push("text"));
    const final = await stream.finalResponse();
    assert.equal(summary, SUMMARY.join(""));
    assert.equal(
      order.indexOf("text"),
      order.lastIndexOf("reasoning") + 1,
      "reasoning first, then the answer",
    );
    const [item] = final.output;
    assert.equal(item?.type, "reasoning");
    if (item?.type !== "reasoning") return;
    assert.match(item.id, BOUND);
    assert.deepEqual(
      item.summary.map((part) => part.text),
      SUMMARY,
    );
    assert.equal(final.output_text, `answer ${upstream.seen.length - 1}`);
  });

  test("readable reasoning (reasoning_text): content part events, and chat's reasoning_content deltas", async () => {
    kind = "text";
    const stream = client.responses.stream({ model: "resp/m", input: "hi" });
    const events: Event[] = [];
    for await (const event of stream) events.push(event as unknown as Event);
    const final = await stream.finalResponse();
    const id = final.output[0]?.id;
    assert.match(String(id), BOUND);
    const shape = events.filter((event) => event.output_index === 0).map((event) => event.type);
    assert.deepEqual(shape, [
      "response.output_item.added",
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
      "response.output_item.done",
    ]);
    assert.deepEqual(streamedParts(events, "response.reasoning_text.delta", "content_index"), [THOUGHT]);
    for (const event of events.filter((e) => e.type.startsWith("response.reasoning_text")))
      assert.equal(event.item_id, id);
    assert.deepEqual((final.output[0] as { content?: unknown }).content, [
      { type: "reasoning_text", text: THOUGHT },
    ]);

    // Chat Completions: the readable reasoning streams as `delta.reasoning_content`, as it is the
    // non-streamed message's `reasoning_content` (a summary is neither).
    const chunks = await client.chat.completions.create({
      model: "resp/m",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    let streamed = "";
    let content = "";
    for await (const chunk of chunks) {
      const delta = chunk.choices[0]?.delta as { reasoning_content?: string; content?: string } | undefined;
      if (delta?.reasoning_content) {
        assert.equal(content, "", "reasoning before the answer");
        streamed += delta.reasoning_content;
      }
      content += delta?.content ?? "";
    }
    assert.equal(streamed, THOUGHT);
    const whole = await client.chat.completions.create({
      model: "resp/m",
      messages: [{ role: "user", content: "hi" }],
    });
    const message = whole.choices[0]?.message as { reasoning_content?: string } | undefined;
    assert.equal(message?.reasoning_content, streamed);
  });

  test("a streamed retry (same Idempotency-Key) replays the summary parts at their indexes", async () => {
    kind = "summary";
    const runs: { parts: string[]; ids: string[]; output: unknown }[] = [];
    for (let i = 0; i < 2; i++) {
      const stream = client.responses.stream(
        { model: "resp/m", input: "hi" },
        { headers: { "Idempotency-Key": "reasoning-summary-retry" } },
      );
      const events: Event[] = [];
      for await (const event of stream) events.push(event as unknown as Event);
      const ids = events
        .filter((e) => e.type.startsWith("response.reasoning_summary"))
        .map((e) => String(e.item_id));
      const output = (await stream.finalResponse()).output;
      runs.push({
        parts: streamedParts(events, "response.reasoning_summary_text.delta", "summary_index"),
        ids,
        output,
      });
    }
    const [first, replay] = runs;
    assert.deepEqual(first?.parts, SUMMARY);
    assert.deepEqual(replay?.parts, SUMMARY);
    assert.deepEqual(new Set(replay?.ids), new Set(first?.ids));
    assert.deepEqual(replay?.output, first?.output);
  });
});
