/**
 * OpenAI's API reference shows its DELETE calls as curl commands with
 * `-H "Content-Type: application/json"` and no body. Copied as they are, they must delete: a
 * JSON content type on a request without a body is not a malformed JSON body.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

describe("DELETE with Content-Type: application/json and no body", () => {
  test("deletes a response, a conversation item and a conversation, as the reference's curl examples do", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    // What `curl -X DELETE <url> -H "Content-Type: application/json"` sends: the header, no body.
    const curlDelete = (path: string) =>
      fetch(`${client.baseURL}${path}`, {
        method: "DELETE",
        headers: { "content-type": "application/json", authorization: "Bearer unused" },
      });
    try {
      const conversation = await client.conversations.create({
        items: [
          { type: "message", role: "user", content: "one" },
          { type: "message", role: "user", content: "two" },
        ],
      });
      const response = await client.responses.create({ model: "mock", input: "hello" });
      const [item] = (await client.conversations.items.list(conversation.id)).data;

      const deletedResponse = await curlDelete(`/responses/${response.id}`);
      assert.equal(deletedResponse.status, 200, await deletedResponse.clone().text());
      assert.deepEqual(await deletedResponse.json(), { id: response.id, object: "response", deleted: true });
      await assert.rejects(client.responses.retrieve(response.id), { status: 404 });

      const deletedItem = await curlDelete(`/conversations/${conversation.id}/items/${item!.id}`);
      assert.equal(deletedItem.status, 200, await deletedItem.clone().text());
      assert.equal(((await deletedItem.json()) as { id: string }).id, conversation.id);
      const left = (await client.conversations.items.list(conversation.id)).data;
      assert.equal(left.length, 1);
      assert.notEqual(left[0]!.id, item!.id);

      const deletedConversation = await curlDelete(`/conversations/${conversation.id}`);
      assert.equal(deletedConversation.status, 200, await deletedConversation.clone().text());
      assert.deepEqual(await deletedConversation.json(), {
        id: conversation.id,
        object: "conversation.deleted",
        deleted: true,
      });
      await assert.rejects(client.conversations.retrieve(conversation.id), { status: 404 });
    } finally {
      await close();
    }
  });

  test("a POST with the same header and no body is still refused as invalid JSON", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const res = await fetch(`${client.baseURL}/conversations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "invalid_json");
    } finally {
      await close();
    }
  });
});
