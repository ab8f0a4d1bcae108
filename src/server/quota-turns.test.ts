/**
 * Session quotas (`lifecycle.defaults.max_*_per_session`) over HTTP, through the official `openai`
 * SDK against `holdfast serve`'s app (withQuotas over withArchives, the built-in mock model): a
 * turn admitted under the limits stores its answer; the next is refused with 413
 * `quota_exceeded` naming the limit, before anything is written.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type OpenAI from "openai";
import type { HoldfastApp } from "../app.ts";
import { refusal, startQuotaApp } from "./quota-test-support.ts";

const roleOf = (item: object | undefined): unknown => (item as { role?: unknown } | undefined)?.role;
const text = (item: { type: string; content?: unknown }): string =>
  `${item.type}:${JSON.stringify((item.content as { text?: string }[] | undefined)?.[0]?.text ?? null)}`;

describe("session quotas over HTTP", () => {
  let holdfast: HoldfastApp;
  let client: OpenAI;

  before(async () => {
    ({ holdfast, client } = await startQuotaApp({ max_items_per_session: 3, max_bytes_per_session: "20kb" }));
  });
  after(() => holdfast.close());

  it("stores the answer of a turn whose input fitted, then refuses the next turn before writing anything", async () => {
    // Two items left: the input fits, the answer and its record take the session over the limit.
    const conv = await client.conversations.create({
      items: [{ type: "message", role: "user", content: "first" }],
    });
    const reply = await client.responses.create({ model: "mock", conversation: conv.id, input: "second" });
    assert.equal(reply.status, "completed");
    const answered = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.deepEqual(
      answered.data.map((i) => i.type),
      ["message", "message", "message"],
      "the input and its answer, never the input alone",
    );
    assert.equal(roleOf(answered.data.at(-1)), "assistant");
    const before = await holdfast.store.get("default", conv.id);

    const refused = await refusal(
      client.responses.create({ model: "mock", conversation: conv.id, input: "third" }),
    );
    assert.equal(refused.status, 413);
    assert.equal(refused.code, "quota_exceeded");
    assert.match(refused.message, /over its limit of 3 \(max_items_per_session/);
    const afterwards = await holdfast.store.get("default", conv.id);
    assert.equal(afterwards.version, before.version, "nothing written");
    assert.deepEqual(
      (await client.conversations.items.list(conv.id, { order: "asc" })).data.map(text),
      answered.data.map(text),
    );
  });

  it("with room for the input only, the turn is still answered and recorded (it used to store neither)", async () => {
    const conv = await client.conversations.create({
      items: ["a", "b"].map((content) => ({ type: "message" as const, role: "user" as const, content })),
    });
    const reply = await client.responses.create({ model: "mock", conversation: conv.id, input: "c" });
    assert.equal(reply.status, "completed");
    // The response record was stored: the turn can be read back.
    assert.equal((await client.responses.retrieve(reply.id)).id, reply.id);
    const items = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.equal(roleOf(items.data.at(-1)), "assistant");
  });

  it("refuses an items append over a limit with 413 naming it, writing none of the items", async () => {
    const conv = await client.conversations.create({
      items: [{ type: "message", role: "user", content: "x" }],
    });
    const refused = await refusal(
      client.conversations.items.create(conv.id, {
        items: ["1", "2", "3"].map((content) => ({
          type: "message" as const,
          role: "user" as const,
          content,
        })),
      }),
    );
    assert.equal(refused.status, 413);
    assert.equal(refused.code, "quota_exceeded");
    assert.match(refused.message, /would hold 4 items, over its limit of 3 \(max_items_per_session/);
    const big = await refusal(
      client.conversations.items.create(conv.id, {
        items: [{ type: "message", role: "user", content: "y".repeat(25_000) }],
      }),
    );
    assert.equal(big.status, 413);
    assert.match(big.message, /bytes, over its limit of 20000 \(max_bytes_per_session/);
    assert.equal((await holdfast.store.get("default", conv.id)).itemCount, 1);
  });
});
