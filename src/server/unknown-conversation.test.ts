/**
 * A turn on a conversation that does not exist (never created, or deleted) is a 404 naming the
 * field the client sent — `conversation`, or on Chat Completions the `Holdfast-Conversation`
 * header — as a malformed id already is, not the store's `session_id` the client never sent.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NotFoundError } from "openai";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

const UNKNOWN = "conv_0123456789abcdef0123456789abcdef";

function assertNotFound(error: unknown, id: string, param: string): true {
  assert.ok(error instanceof NotFoundError, String(error));
  assert.equal(error.code, "not_found");
  assert.equal(error.param, param);
  assert.equal(error.message, `404 Conversation with id '${id}' not found.`);
  return true;
}

describe("a turn on an unknown conversation", () => {
  test("Responses: 404 with param conversation, streamed or not, never created or deleted", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const deleted = await client.conversations.create({});
      await client.conversations.delete(deleted.id);
      for (const id of [UNKNOWN, deleted.id]) {
        await assert.rejects(client.responses.create({ model: "mock", input: "hi", conversation: id }), (e) =>
          assertNotFound(e, id, "conversation"),
        );
        await assert.rejects(
          client.responses.create({ model: "mock", input: "hi", conversation: { id }, stream: true }),
          (e) => assertNotFound(e, id, "conversation"),
        );
      }
      // A tool output is checked against the conversation's calls first: the same 404.
      await assert.rejects(
        client.responses.create({
          model: "mock",
          input: [{ type: "function_call_output", call_id: "call_1", output: "42" }],
          conversation: UNKNOWN,
        }),
        (e) => assertNotFound(e, UNKNOWN, "conversation"),
      );
      // Nothing was created under the unknown id.
      await assert.rejects(client.conversations.retrieve(UNKNOWN), { status: 404 });
    } finally {
      await close();
    }
  });

  test("Chat Completions: 404 naming the Holdfast-Conversation header", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      for (const stream of [false, true]) {
        await assert.rejects(
          client.chat.completions.create(
            { model: "mock", messages: [{ role: "user", content: "hi" }], stream },
            { headers: { "Holdfast-Conversation": UNKNOWN } },
          ),
          (e) => assertNotFound(e, UNKNOWN, "Holdfast-Conversation"),
        );
      }
    } finally {
      await close();
    }
  });
});
