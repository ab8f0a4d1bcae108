/**
 * The `holdfast` marker that keeps a reasoning item's upstream id (`{"upstream_id": "rs_…"}`) is
 * Holdfast's bookkeeping, not OpenAI's item shape, and it showed to clients everywhere: in the
 * Response object (created, retrieved, streamed), its input items, the conversation's items and
 * the stream events. It is hidden now, and the binding survives the round trip without it: a
 * reasoning item's Holdfast id carries the upstream's (`<upstream id>-hf<16 hex>`), so an item a
 * client sends back as it was given (`input: [...previous.output, next]`, or added to another
 * conversation) still goes upstream under the id OpenAI bound its `encrypted_content` to.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { withoutUpstreamId } from "../engine/context/items.ts";
import { boundIdOf, newBoundItemId } from "../store/ids.ts";
import {
  type FakeResponsesUpstream,
  fakeAnswerMessage,
  reasoningSent,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openSdkGatewayOverResponses } from "./sdk-test-gateway.ts";

const include = ["reasoning.encrypted_content" as const];

/** Output items sent back as input, as clients do (the SDK types the two lists apart). */
function asInput(output: OpenAI.Responses.ResponseOutputItem[]): OpenAI.Responses.ResponseInputItem[] {
  return output as OpenAI.Responses.ResponseInputItem[];
}

function assertNoMarker(what: string, value: unknown): void {
  const text = JSON.stringify(value);
  assert.equal(text.includes('"holdfast"'), false, `${what}: ${text.slice(0, 400)}`);
  assert.equal(text.includes("upstream_id"), false, what);
}

describe("the reasoning marker on the wire", () => {
  let upstream: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    upstream = await startFakeResponsesUpstream((n) => [
      {
        type: "reasoning",
        id: `rs_up${n}`,
        summary: [{ type: "summary_text", text: `thought ${n}` }],
        encrypted_content: `enc-${n}`,
      },
      fakeAnswerMessage(n),
    ]);
    ({ client, close } = await openSdkGatewayOverResponses(upstream));
  });
  after(() => close());

  test("shows in no response, item list or stream event", async () => {
    const conv = await client.conversations.create({});
    const created = await client.responses.create({
      model: "resp/m",
      input: "q0",
      conversation: conv.id,
      include,
    });
    assertNoMarker("created", created);
    assertNoMarker("retrieved", await client.responses.retrieve(created.id));
    const stream = client.responses.stream({ model: "resp/m", input: "q1", conversation: conv.id, include });
    const events: unknown[] = [];
    for await (const event of stream) events.push(event);
    assertNoMarker("stream events", events);
    // A turn whose input holds Holdfast's reasoning item: its input items.
    const again = await client.responses.create({
      model: "resp/m",
      input: [{ role: "user", content: "q0" }, ...asInput(created.output), { role: "user", content: "q2" }],
      include,
    });
    assertNoMarker("input items", await client.responses.inputItems.list(again.id));
    const items = await client.conversations.items.list(conv.id);
    assert.ok(items.data.some((item) => item.type === "reasoning"));
    assertNoMarker("conversation items", items);
    const id = String(created.output[0]?.id);
    assertNoMarker("one item", await client.conversations.items.retrieve(id, { conversation_id: conv.id }));
  });

  test("an item sent back as it was given goes upstream under the upstream's id", async () => {
    const first = await client.responses.create({ model: "resp/m", input: "q0", include });
    const n = upstream.seen.length - 1;
    const [reasoning] = first.output;
    assert.equal(reasoning?.type, "reasoning");
    assert.equal("holdfast" in (reasoning ?? {}), false);
    const second = await client.responses.create({
      model: "resp/m",
      input: [{ role: "user", content: "q0" }, ...asInput(first.output), { role: "user", content: "q1" }],
      include,
    });
    assert.equal(second.status, "completed");
    assert.deepEqual(reasoningSent(upstream.seen.at(-1)), [[`rs_up${n}`, `enc-${n}`]]);
    // The item keeps the id the client gave, and later turns of that session the binding.
    const stored = await client.responses.inputItems.list(second.id);
    assert.ok(stored.data.some((item) => item.id === reasoning?.id));
    await client.responses.create({ model: "resp/m", input: "q2", previous_response_id: second.id });
    assert.deepEqual(reasoningSent(upstream.seen.at(-1)), [
      [`rs_up${n}`, `enc-${n}`],
      [`rs_up${n + 1}`, `enc-${n + 1}`],
    ]);
  });

  test("added to another conversation with the items API: the binding goes along", async () => {
    const first = await client.responses.create({ model: "resp/m", input: "q0", include });
    const n = upstream.seen.length - 1;
    const conv = await client.conversations.create({});
    await client.conversations.items.create(conv.id, {
      items: [
        { role: "user", content: "q0" },
        ...(first.output as unknown as OpenAI.Conversations.ItemCreateParams["items"]),
      ],
    });
    await client.responses.create({ model: "resp/m", input: "q1", conversation: conv.id });
    assert.deepEqual(reasoningSent(upstream.seen.at(-1)), [[`rs_up${n}`, `enc-${n}`]]);
  });

  test("an item a client kept with the marker (as it was shown before) is accepted and bound as it says", async () => {
    const first = await client.responses.create({ model: "resp/m", input: "q0", include });
    const n = upstream.seen.length - 1;
    const [reasoning] = first.output;
    const marked = { ...reasoning, id: "rs_kept_by_client", holdfast: { upstream_id: `rs_up${n}` } };
    const second = await client.responses.create({
      model: "resp/m",
      input: [
        { role: "user", content: "q0" },
        marked as OpenAI.Responses.ResponseInputItem,
        { role: "user", content: "q1" },
      ],
    });
    assert.equal(second.status, "completed");
    assert.deepEqual(reasoningSent(upstream.seen.at(-1)), [[`rs_up${n}`, `enc-${n}`]]);
    assertNoMarker("input items", await client.responses.inputItems.list(second.id));
  });
});

test("bound ids: the id carried comes back; other ids carry none; a pin stays visible", () => {
  const id = newBoundItemId("rs_0f26baa4a8bfec6b0169326d7c20a8819499e6d836076cc00b");
  assert.match(String(id), /^rs_0f26baa4a8bfec6b0169326d7c20a8819499e6d836076cc00b-hf[0-9a-f]{16}$/);
  assert.equal(boundIdOf(String(id)), "rs_0f26baa4a8bfec6b0169326d7c20a8819499e6d836076cc00b");
  assert.notEqual(newBoundItemId("rs_1"), newBoundItemId("rs_1"), "unique when the upstream's is not");
  assert.equal(newBoundItemId("x".repeat(110)), null, "too long for an item id");
  assert.equal(newBoundItemId("rs 1"), null);
  for (const other of ["rs_0192a3b4c5d6e7f80912a3b4c5d6e7f8", "rs_x-hf123", "-hf0123456789abcdef"])
    assert.equal(boundIdOf(other), null, other);

  const pinned = { type: "reasoning", holdfast: { pinned: true, upstream_id: "rs_up" } };
  assert.deepEqual(withoutUpstreamId(pinned), { type: "reasoning", holdfast: { pinned: true } });
  assert.deepEqual(withoutUpstreamId({ type: "reasoning", holdfast: { upstream_id: "rs_up" } }), {
    type: "reasoning",
  });
  const message = { type: "message", holdfast: { pinned: true } };
  assert.equal(withoutUpstreamId(message), message);
});
