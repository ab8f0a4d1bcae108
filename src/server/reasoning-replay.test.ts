/**
 * Encrypted reasoning goes back to a Responses upstream under the id the upstream gave it. OpenAI
 * binds a reasoning item's `encrypted_content` to that id ("Encrypted content item_id did not match
 * the target item id"); Holdfast stores the item under its own id (upstreams reuse or omit theirs),
 * and used to send it back with no id at all. The upstream's id is kept in the item's `holdfast`
 * marker and restored on the way out. A reasoning item without encrypted content or without an
 * upstream id is left out (OpenAI refuses it either way, and used to get it); other upstream types
 * still never see reasoning items.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { toModelInput } from "../engine/context/summary.ts";
import { toAnthropicBody } from "../engine/providers/anthropic-translate.ts";
import { toChatBody } from "../engine/providers/openai-chat-translate.ts";
import type { InputItem } from "../engine/providers/types.ts";
import type { Item, JsonObject } from "../store/types.ts";
import {
  type FakeResponsesUpstream,
  fakeAnswerMessage,
  startFakeResponsesUpstream,
} from "./fake-responses-upstream.ts";
import { openSdkGatewayOverResponses } from "./sdk-test-gateway.ts";

type Body = Record<string, unknown>;

/**
 * How the upstream's reasoning comes: encrypted under a fresh id, `plain` (the client did not
 * include `reasoning.encrypted_content`), or encrypted but with no id (`anonymous`).
 */
type Reasoning = "encrypted" | "plain" | "anonymous";

/** Turn `n`: a reasoning item as `kind` says, then text. */
function answer(n: number, kind: Reasoning) {
  return [
    {
      type: "reasoning",
      ...(kind === "anonymous" ? {} : { id: `rs_up${n}` }),
      summary: [{ type: "summary_text", text: `thought ${n}` }],
      ...(kind === "plain" ? {} : { encrypted_content: `enc-${n}` }),
    },
    fakeAnswerMessage(n),
  ];
}

function reasoningSent(body: Body | undefined): Body[] {
  return ((body?.input ?? []) as Body[]).filter((item) => item.type === "reasoning");
}

describe("reasoning items replayed to a Responses upstream", () => {
  let upstream: FakeResponsesUpstream;
  let close: () => Promise<void>;
  let client: OpenAI;
  /** How the next answers' reasoning comes. */
  let kind: Reasoning = "encrypted";

  before(async () => {
    upstream = await startFakeResponsesUpstream((n) => answer(n, kind));
    ({ client, close } = await openSdkGatewayOverResponses(upstream));
  });
  after(() => close());

  test("encrypted reasoning goes back under the upstream's id, streamed turns or not", async () => {
    kind = "encrypted";
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
    // Holdfast's own id (unique whatever the upstream's), which carries the upstream's.
    assert.match(String(shown?.id), new RegExp(`^rs_up${upstream.seen.length - 1}-hf[0-9a-f]{16}$`));
    const stream = client.responses.stream({ model: "resp/m", input: "q1", conversation: conv.id, include });
    await stream.finalResponse();
    await client.responses.create({ model: "resp/m", input: "q2", conversation: conv.id, include });

    const n = first;
    assert.deepEqual(reasoningSent(upstream.seen[n + 1]), [
      {
        id: `rs_up${n}`,
        type: "reasoning",
        summary: [{ type: "summary_text", text: `thought ${n}` }],
        encrypted_content: `enc-${n}`,
      },
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

  // Without encrypted content, OpenAI can use the item neither with an id (store: false: "Item
  // with id 'rs_…' not found") nor without one (the id is required); encrypted content without
  // the id it is bound to cannot be verified. Either failed this turn and every later one.
  for (const left of ["plain", "anonymous"] as const)
    test(`${left} reasoning is left out of later requests, the rest of the history goes`, async () => {
      kind = left;
      const conv = await client.conversations.create({});
      const first = upstream.seen.length;
      await client.responses.create({ model: "resp/m", input: "q0", conversation: conv.id });
      const stream = client.responses.stream({ model: "resp/m", input: "q1", conversation: conv.id });
      await stream.finalResponse();
      const sent = upstream.seen[first + 1];
      assert.deepEqual(reasoningSent(sent), []);
      const texts = ((sent?.input ?? []) as Body[]).map((item) => [item.type, item.role]);
      assert.deepEqual(texts, [
        ["message", "user"],
        ["message", "assistant"],
        ["message", "user"],
      ]);
      const stored = await client.conversations.items.list(conv.id, { order: "asc" });
      assert.equal(
        stored.data.filter((item) => item.type === "reasoning").length,
        2,
        "the transcript keeps them",
      );
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
