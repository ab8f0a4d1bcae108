/**
 * A reasoning id an item id cannot carry (over 109 characters with `-hf<16 hex>`; GitHub Copilot's
 * Responses endpoint issues ~416-character ones) got a plain fresh Holdfast id. A client sending
 * the item back (`input: [...output, …]`) had that id taken for the upstream's, and the upstream got
 * the encrypted content under an id it never issued — OpenAI refuses that, and a conversation
 * holding the item failed every later turn. Such an item now gets an id that says it carries none
 * (`rs_<32 hex>-hn<16 hex>`): given back, it is left out of the request; in the conversation it
 * came from, the stored item still goes back under the upstream's id.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { keepUpstreamId } from "../engine/context/items.ts";
import { isUnboundItemId, newUnboundItemId } from "../store/ids.ts";
import type { JsonObject } from "../store/types.ts";
import {
  type FakeResponsesUpstream,
  fakeAnswerMessage,
  reasoningSent,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openSdkGatewayOverResponses } from "./sdk-test-gateway.ts";

const LONG = (n: number) => `rs_${String(n).padStart(4, "0")}${"a1".repeat(100)}`;
const UNBOUND = /^rs_[0-9a-f]{32}-hn[0-9a-f]{16}$/;
const include: OpenAI.Responses.ResponseIncludable[] = ["reasoning.encrypted_content"];

describe("a Responses upstream's reasoning ids too long to carry", () => {
  let upstream: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;

  before(async () => {
    upstream = await startFakeResponsesUpstream((n) => [
      { type: "reasoning", id: LONG(n), summary: [], encrypted_content: `enc-${n}` },
      fakeAnswerMessage(n),
    ]);
    ({ client, close } = await openSdkGatewayOverResponses(upstream));
  });
  after(() => close());

  test("on its conversation: shown under an unbound id, sent back under the upstream's", async () => {
    const conv = await client.conversations.create({});
    const first = await client.responses.create({
      model: "resp/m",
      input: "q0",
      include,
      conversation: conv.id,
    });
    const n = upstream.seen.length - 1;
    assert.match(String(first.output[0]?.id), UNBOUND);
    await client.responses.create({ model: "resp/m", input: "q1", conversation: conv.id });
    assert.deepEqual(reasoningSent(upstream.seen.at(-1)), [[LONG(n), `enc-${n}`]]);
  });

  test("given back as it was shown: left out, never sent under Holdfast's id", async () => {
    const first = await client.responses.create({ model: "resp/m", input: "q0", include });
    const conv = await client.conversations.create({});
    const second = await client.responses.create({
      model: "resp/m",
      conversation: conv.id,
      input: [
        { role: "user", content: "q0" },
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { role: "user", content: "q1" },
      ],
    });
    assert.equal(second.status, "completed");
    assert.deepEqual(reasoningSent(upstream.seen.at(-1)), []);
    // And the conversation it went into keeps working.
    const third = await client.responses.create({ model: "resp/m", input: "q2", conversation: conv.id });
    assert.equal(third.status, "completed");
    assert.deepEqual(reasoningSent(upstream.seen.at(-1)), [
      [LONG(upstream.seen.length - 2), `enc-${upstream.seen.length - 2}`],
    ]);
  });
});

test("unbound ids: recognised, never kept as an upstream id; other ids still are", () => {
  const id = newUnboundItemId("reasoning");
  assert.match(id, UNBOUND);
  assert.equal(isUnboundItemId(id), true);
  assert.equal(isUnboundItemId("rs_0192a3b4c5d6e7f80912a3b4c5d6e7f8"), false);
  const content: JsonObject = { type: "reasoning", summary: [], encrypted_content: "e" };
  assert.deepEqual(keepUpstreamId({ id, content }), { id, content });
  assert.deepEqual(keepUpstreamId({ id: "rs_copied", content }).content.holdfast, {
    upstream_id: "rs_copied",
  });
});
