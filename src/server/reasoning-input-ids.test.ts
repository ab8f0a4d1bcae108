/**
 * A reasoning item a client supplies itself — copied from OpenAI's output into `input`, or added
 * with the items API — goes back to a Responses upstream under the id the client gave it. OpenAI
 * binds `encrypted_content` to that id; Holdfast took the id out of the item (it is the stored
 * item's id) and sent the item without one. The given id stays the item's Holdfast id, and is
 * kept as its upstream id too (`"holdfast": {"upstream_id": …}`), unless the item already names
 * one (Holdfast's own output sent back as it came).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import {
  type FakeResponsesUpstream,
  fakeAnswerMessage,
  reasoningSent,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openSdkGatewayOverResponses } from "./sdk-test-gateway.ts";

/** Reasoning as OpenAI returns it with `include: ["reasoning.encrypted_content"]`. */
function openaiReasoning(id: string) {
  return {
    type: "reasoning" as const,
    id,
    summary: [{ type: "summary_text" as const, text: `summary of ${id}` }],
    encrypted_content: `enc-of-${id}`,
  };
}

describe("reasoning items a client supplies, to a Responses upstream", () => {
  let upstream: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    upstream = await startFakeResponsesUpstream((n) => [openaiReasoning(`rs_up${n}`), fakeAnswerMessage(n)]);
    ({ client, close } = await openSdkGatewayOverResponses(upstream));
  });
  after(() => close());

  test("copied into input: sent under the client's id, on this turn and the next", async () => {
    const conv = await client.conversations.create({});
    const first = upstream.seen.length;
    const copied = openaiReasoning("rs_0f26baa4a8bfec6b0169326d7c20a8819499e6d836076cc00b");
    await client.responses.create({
      model: "resp/m",
      conversation: conv.id,
      input: [
        { role: "user", content: "q0" },
        copied,
        { role: "assistant", content: "a0" },
        { role: "user", content: "q1" },
      ],
    });
    await client.responses.create({ model: "resp/m", conversation: conv.id, input: "q2" });
    assert.deepEqual(reasoningSent(upstream.seen[first]), [[copied.id, copied.encrypted_content]]);
    assert.deepEqual(reasoningSent(upstream.seen[first + 1]), [
      [copied.id, copied.encrypted_content],
      [`rs_up${first}`, `enc-of-rs_up${first}`],
    ]);
    // The client's id is still the stored item's id.
    const stored = await client.conversations.items.retrieve(copied.id, { conversation_id: conv.id });
    assert.equal(stored.id, copied.id);
  });

  test("added with the items API (or on create): sent under the client's id", async () => {
    const added = openaiReasoning("rs_added_by_items_api");
    const created = openaiReasoning("rs_added_on_create");
    const conv = await client.conversations.create({
      items: [{ role: "user", content: "q0" }, created, { role: "assistant", content: "a0" }],
    });
    await client.conversations.items.create(conv.id, {
      items: [{ role: "user", content: "q1" }, added, { role: "assistant", content: "a1" }],
    });
    const first = upstream.seen.length;
    await client.responses.create({ model: "resp/m", conversation: conv.id, input: "q2" });
    assert.deepEqual(reasoningSent(upstream.seen[first]), [
      [created.id, created.encrypted_content],
      [added.id, added.encrypted_content],
    ]);
  });

  test("Holdfast's own output sent back as it came keeps the upstream's id, not Holdfast's", async () => {
    const first = upstream.seen.length;
    const r0 = await client.responses.create({
      model: "resp/m",
      input: "q0",
      include: ["reasoning.encrypted_content"],
    });
    const own = r0.output.find((item) => item.type === "reasoning");
    assert.ok(own);
    assert.notEqual(own.id, `rs_up${first}`, "the client sees Holdfast's id");
    await client.responses.create({
      model: "resp/m",
      input: [
        { role: "user", content: "q0" },
        own,
        { role: "assistant", content: "a0" },
        { role: "user", content: "q1" },
      ],
    });
    assert.deepEqual(reasoningSent(upstream.seen[first + 1]), [[`rs_up${first}`, `enc-of-rs_up${first}`]]);
  });
});
