/**
 * Items a Responses upstream produces are stored under Holdfast's own ids. An upstream's ids
 * mean nothing to Holdfast (it never sends them back), and some upstreams reuse them across
 * responses or leave them out: stored as given, a reused id made every second turn of a
 * conversation fail (the id was taken), and a missing one left streamed items without an id.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import {
  type FakeItem,
  type FakeResponsesUpstream,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openSdkGatewayOverResponses } from "./sdk-test-gateway.ts";

/** The same ids in every response (`fixed`), or none at all (`none`). */
function answer(ids: "fixed" | "none", n: number): FakeItem[] {
  const id = (value: string) => (ids === "fixed" ? { id: value } : {});
  return [
    { type: "reasoning", ...id("rs_1"), summary: [], encrypted_content: `enc-${n}` },
    {
      type: "message",
      ...id("msg_1"),
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: `answer ${n}`, annotations: [] }],
    },
  ];
}

for (const ids of ["fixed", "none"] as const) {
  describe(`a Responses upstream with ${ids === "fixed" ? "the same item ids in every response" : "no item ids"}`, () => {
    let upstream: FakeResponsesUpstream;
    let close: () => Promise<void>;
    let client: OpenAI;

    before(async () => {
      upstream = await startFakeResponsesUpstream((n) => answer(ids, n));
      ({ client, close } = await openSdkGatewayOverResponses(upstream));
    });
    after(() => close());

    test("every turn of a conversation is answered and stored, streamed or not", async () => {
      const conv = await client.conversations.create({});
      const shown: string[] = [];
      for (let turn = 0; turn < 4; turn++) {
        const input = `question ${turn}`;
        if (turn % 2 === 0) {
          const response = await client.responses.create({ model: "resp/m", input, conversation: conv.id });
          assert.equal(response.status, "completed");
          assert.match(response.output_text, /^answer \d$/);
          shown.push(...response.output.map((item) => String(item.id)));
        } else {
          const stream = client.responses.stream({ model: "resp/m", input, conversation: conv.id });
          const deltaIds = new Set<string>();
          stream.on("response.output_text.delta", (event) => deltaIds.add(event.item_id));
          const final = await stream.finalResponse();
          assert.equal(final.status, "completed");
          assert.match(final.output_text, /^answer \d$/);
          const message = final.output.find((item) => item.type === "message");
          assert.deepEqual([...deltaIds], [message?.id], "deltas name the item the response holds");
          shown.push(...final.output.map((item) => String(item.id)));
        }
      }
      const items = (await client.conversations.items.list(conv.id, { order: "asc" })).data;
      // Four inputs, each answered by a reasoning item and a message.
      assert.deepEqual(
        items.map((item) => item.type),
        Array.from({ length: 4 }, () => ["message", "reasoning", "message"]).flat(),
      );
      const stored = items.filter((_, i) => i % 3 !== 0).map((item) => String(item.id));
      assert.deepEqual(stored, shown, "the ids shown are the ids stored");
      assert.equal(new Set(stored).size, stored.length);
      // A reasoning item's id carries the upstream's (see reasoning-marker.test.ts), or says it
      // carries none (see reasoning-long-ids.test.ts).
      const own =
        ids === "fixed"
          ? /^(msg_[0-9a-f]{32}|rs_1-hf[0-9a-f]{16})$/
          : /^(msg_[0-9a-f]{32}|rs_[0-9a-f]{32}-hn[0-9a-f]{16})$/;
      for (const id of stored) assert.match(id, own);
    });
  });
}
