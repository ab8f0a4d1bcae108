/**
 * `include` on the item routes is OpenAI's enum: an unknown value is a 400 naming `include` and
 * listing the values, as OpenAI answers, whether sent as the SDK sends arrays (`include[]=`) or as
 * `include=`. Every known value is accepted and changes nothing (items are returned as stored).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type OpenAI from "openai";
import { BadRequestError } from "openai";
import { RESPONSE_INCLUDES } from "../engine/turn/request-fields.ts";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

const bogus = ["bogus"] as unknown as OpenAI.Responses.ResponseIncludable[];
const known = [...RESPONSE_INCLUDES];

function assertBadInclude(error: unknown): true {
  assert.ok(error instanceof BadRequestError, String(error));
  assert.equal(error.code, "invalid_argument");
  assert.equal(error.param, "include");
  assert.match(error.message, /^400 include: 'bogus' is not an include value; use /);
  for (const value of RESPONSE_INCLUDES) assert.ok(error.message.includes(value), `lists ${value}`);
  return true;
}

describe("include on the item routes", () => {
  test("an unknown value is a 400 naming include; OpenAI's values are accepted and change nothing", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const response = await client.responses.create({ model: "mock", input: "hi", store: true });
      const conv = await client.conversations.create({ items: [{ role: "user", content: "hello" }] });
      const [item] = (await client.conversations.items.list(conv.id)).data;
      assert.ok(item?.id);

      await assert.rejects(client.conversations.items.list(conv.id, { include: bogus }), assertBadInclude);
      await assert.rejects(
        client.responses.inputItems.list(response.id, { include: bogus }),
        assertBadInclude,
      );
      await assert.rejects(
        client.conversations.items.retrieve(item.id, { conversation_id: conv.id, include: bogus }),
        assertBadInclude,
      );
      await assert.rejects(
        client.conversations.items.create(conv.id, {
          items: [{ role: "user", content: "more" }],
          include: bogus,
        }),
        assertBadInclude,
      );
      // The same as `include=` (one value, no brackets), on both lists.
      for (const path of [`conversations/${conv.id}/items`, `responses/${response.id}/input_items`]) {
        const raw = await fetch(`${client.baseURL}/${path}?include=bogus`);
        assert.equal(raw.status, 400, path);
        const body = (await raw.json()) as { error: { param: string; code: string } };
        assert.deepEqual([body.error.param, body.error.code], ["include", "invalid_argument"]);
      }

      // A write route that takes expected_version takes include too, and checks it before writing.
      const deleted = await fetch(`${client.baseURL}/conversations/${conv.id}?include=bogus`, {
        method: "DELETE",
      });
      assert.equal(deleted.status, 400);
      await client.conversations.retrieve(conv.id);

      // The refused create wrote nothing.
      const plain = await client.conversations.items.list(conv.id);
      assert.equal(plain.data.length, 1);
      // Every value OpenAI takes is accepted, and the items are the same as without include.
      assert.deepEqual((await client.conversations.items.list(conv.id, { include: known })).data, plain.data);
      const inputs = await client.responses.inputItems.list(response.id);
      assert.deepEqual(
        (await client.responses.inputItems.list(response.id, { include: known })).data,
        inputs.data,
      );
      const retrieved = await client.conversations.items.retrieve(item.id, {
        conversation_id: conv.id,
        include: known,
      });
      assert.deepEqual(retrieved, item);
    } finally {
      await close();
    }
  });
});
