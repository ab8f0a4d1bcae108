/**
 * A stream replayed by `Idempotency-Key` announces its response (`response.created`,
 * `response.in_progress`) as the first stream did: the request's fields, in progress. It used to
 * announce the stored response with only its status, output and usage reset, so a response that
 * had ended incomplete, with an error or on another tier than asked showed its
 * `incomplete_details`, `error` and the upstream's `service_tier` while saying `in_progress`.
 * The outcome belongs to the closing event, as in the first stream.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createMockUpstream, type MockUpstream } from "../mock-upstream/index.ts";
import { createStore } from "../store/create-store.ts";
import { startFakeResponsesUpstream } from "./fake-responses-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

type Announced = Record<string, unknown>;

interface Run {
  created: Announced;
  inProgress: Announced;
  /** The closing event's type, or the error code the SDK raised. */
  end: string;
}

/** Streams one turn with `key` and keeps what it announced and how it ended. */
async function streamed(client: OpenAI, body: Record<string, unknown>, key: string): Promise<Run> {
  const stream = await client.responses.create(
    { ...body, stream: true } as OpenAI.Responses.ResponseCreateParamsStreaming,
    { headers: { "Idempotency-Key": key } },
  );
  const run = { created: {}, inProgress: {}, end: "" };
  try {
    for await (const event of stream) {
      if (event.type === "response.created") run.created = event.response as unknown as Announced;
      if (event.type === "response.in_progress") run.inProgress = event.response as unknown as Announced;
      if (event.type === "response.completed" || event.type === "response.incomplete") run.end = event.type;
    }
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    run.end = String(error.code);
  }
  return run;
}

/**
 * Streams the turn, then again with the same key: the replay announces exactly what the first
 * stream did (but `created_at`, stamped when the turn started, which is not what this is about).
 */
async function assertReplayAnnouncesAsFresh(client: OpenAI, body: Record<string, unknown>, key: string) {
  const fresh = await streamed(client, body, key);
  const replay = await streamed(client, body, key);
  assert.equal(replay.created.id, fresh.created.id, "the retry is a replay of the same response");
  const comparable = ({ created_at: _, ...rest }: Announced) => rest;
  assert.deepEqual(comparable(replay.created), comparable(fresh.created));
  assert.deepEqual(comparable(replay.inProgress), comparable(fresh.inProgress));
  for (const announced of [replay.created, replay.inProgress]) {
    assert.equal(announced.status, "in_progress");
    assert.equal(announced.incomplete_details, null);
    assert.equal(announced.error, null);
  }
  return { fresh, replay };
}

describe("a replayed stream's response.created and response.in_progress", () => {
  let upstream: MockUpstream;
  let fake: { baseUrl: string; close: () => Promise<void> };
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    upstream = await createMockUpstream();
    fake = await startFakeResponsesUpstream(
      () => [
        {
          type: "message",
          id: "msg_up",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "served", annotations: [] }],
        },
      ],
      () => ({ service_tier: "priority" }),
    );
    ({ client, close } = await openSdkGateway(await createStore("memory:"), {
      providers: [
        // Every answer is cut after a few frames: the turn is stored incomplete with the error.
        {
          name: "cut",
          type: "openai-chat",
          baseUrl: `${upstream.url}/v1`,
          headers: { "x-mock-scenario": "cut:5" },
        },
        { name: "tier", type: "openai-responses", baseUrl: fake.baseUrl },
      ],
    }));
  });
  after(async () => {
    await close();
    await upstream.close();
    await fake.close();
  });

  test("a turn cut by max_output_tokens: no incomplete_details before it ends", async () => {
    const conv = await client.conversations.create({});
    // The mock answers a tool output by quoting it: far more than 16 words.
    const input = [
      { type: "function_call", call_id: "call_story", name: "story", arguments: "{}" },
      { type: "function_call_output", call_id: "call_story", output: "and then the sea ".repeat(12) },
    ];
    const body = { model: "mock", input, max_output_tokens: 16, conversation: conv.id };
    const { fresh } = await assertReplayAnnouncesAsFresh(client, body, "announce-incomplete");
    assert.equal(fresh.end, "response.incomplete");
  });

  test("a turn cut by an upstream failure: no error before it ends", async () => {
    const conv = await client.conversations.create({});
    const body = { model: "cut/mock", input: "tell me a long story", conversation: conv.id };
    const { fresh } = await assertReplayAnnouncesAsFresh(client, body, "announce-error");
    assert.equal(fresh.end, "upstream_error");
  });

  test("a turn served on another tier: the tier asked for, as docs/gateway.md says", async () => {
    const conv = await client.conversations.create({});
    const body = { model: "tier/m", input: "hi", service_tier: "flex", conversation: conv.id };
    const { replay } = await assertReplayAnnouncesAsFresh(client, body, "announce-tier");
    assert.equal(replay.created.service_tier, "flex");
    const stored = await client.responses.retrieve(String(replay.created.id));
    assert.equal(stored.service_tier, "priority", "the stored response keeps the tier served");
  });
});
