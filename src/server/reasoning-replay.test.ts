/**
 * Encrypted reasoning goes back to a Responses upstream under the id the upstream gave it. OpenAI
 * binds a reasoning item's `encrypted_content` to that id ("Encrypted content item_id did not match
 * the target item id"); Holdfast stores the item under its own id (upstreams reuse or omit theirs),
 * and used to send it back with no id at all. The upstream's id is kept in the item's `holdfast`
 * marker and restored on the way out; other upstream types still never see reasoning items.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { toModelInput } from "../engine/context/summary.ts";
import { toAnthropicBody } from "../engine/providers/anthropic-translate.ts";
import { toChatBody } from "../engine/providers/openai-chat-translate.ts";
import type { InputItem } from "../engine/providers/types.ts";
import { createStore } from "../store/create-store.ts";
import type { Item, JsonObject } from "../store/types.ts";
import { type FakeResponsesUpstream, startFakeResponsesUpstream } from "./fake-responses-upstream.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

type Body = Record<string, unknown>;

/** Turn `n`: a reasoning item (encrypted unless `plain`) with a fresh upstream id, then text. */
function answer(n: number, plain: boolean) {
  return [
    {
      type: "reasoning",
      id: `rs_up${n}`,
      summary: [],
      ...(plain ? {} : { encrypted_content: `enc-${n}` }),
    },
    {
      type: "message",
      id: `msg_up${n}`,
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: `answer ${n}`, annotations: [] }],
    },
  ];
}

function reasoningSent(body: Body | undefined): Body[] {
  return ((body?.input ?? []) as Body[]).filter((item) => item.type === "reasoning");
}

describe("reasoning items replayed to a Responses upstream", () => {
  let upstream: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;
  /** Whether the next answers carry no encrypted_content (the client did not include it). */
  let plain = false;

  before(async () => {
    upstream = await startFakeResponsesUpstream((n) => answer(n, plain));
    const store = await createStore("memory:");
    ({ client, close } = await openSdkGateway(store, {
      providers: [{ name: "resp", type: "openai-responses", baseUrl: upstream.baseUrl }],
    }));
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  test("encrypted reasoning goes back under the upstream's id, streamed turns or not", async () => {
    plain = false;
    const conv = await client.conversations.create({});
    const include = ["reasoning.encrypted_content" as const];
    const first = upstream.seen.length;
    const r0 = await client.responses.create({
      model: "resp/m",
      input: "q0",
      conversation: conv.id,
      include,
    });
    const shown = r0.output.find((item) => item.type === "reasoning");
    assert.match(String(shown?.id), /^rs_[0-9a-f]{32}$/, "the client sees Holdfast's id");
    const stream = client.responses.stream({ model: "resp/m", input: "q1", conversation: conv.id, include });
    await stream.finalResponse();
    await client.responses.create({ model: "resp/m", input: "q2", conversation: conv.id, include });

    const n = first;
    assert.deepEqual(reasoningSent(upstream.seen[n + 1]), [
      { id: `rs_up${n}`, type: "reasoning", summary: [], encrypted_content: `enc-${n}` },
    ]);
    assert.deepEqual(
      reasoningSent(upstream.seen[n + 2]).map((item) => [item.id, item.encrypted_content]),
      [
        [`rs_up${n}`, `enc-${n}`],
        [`rs_up${n + 1}`, `enc-${n + 1}`],
      ],
      "the streamed turn's reasoning too",
    );
    for (const item of reasoningSent(upstream.seen[n + 2])) assert.equal("holdfast" in item, false);
  });

  test("reasoning without encrypted_content still goes without an id (store: false keeps nothing to refer to)", async () => {
    plain = true;
    const conv = await client.conversations.create({});
    const first = upstream.seen.length;
    await client.responses.create({ model: "resp/m", input: "q0", conversation: conv.id });
    await client.responses.create({ model: "resp/m", input: "q1", conversation: conv.id });
    assert.deepEqual(reasoningSent(upstream.seen[first + 1]), [{ type: "reasoning", summary: [] }]);
  });
});

test("Chat Completions and Anthropic upstreams still get no reasoning item", () => {
  const stored = (seq: number, content: JsonObject): Item => ({
    seq,
    id: `item_${seq}`,
    type: String(content.type),
    role: typeof content.role === "string" ? content.role : null,
    status: null,
    content,
    tokens: 1,
    bytes: 0,
    turnId: null,
    createdAt: 0,
  });
  const input = toModelInput([
    stored(1, { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }),
    stored(2, {
      type: "reasoning",
      summary: [],
      encrypted_content: "enc",
      holdfast: { upstream_id: "rs_up" },
    }),
    stored(3, { type: "message", role: "assistant", content: [{ type: "output_text", text: "hello" }] }),
  ]) as unknown as InputItem[];
  assert.equal(input[1]?.id, "rs_up");
  assert.deepEqual(toChatBody({ model: "m", input }, false).messages, [
    { role: "user", content: "hi" },
    { role: "assistant", content: "hello" },
  ]);
  assert.deepEqual(toAnthropicBody({ model: "m", input }, false).messages, [
    { role: "user", content: [{ type: "text", text: "hi" }] },
    { role: "assistant", content: [{ type: "text", text: "hello" }] },
  ]);
});
