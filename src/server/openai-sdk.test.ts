/**
 * The official `openai` SDK, unmodified, against a listening server: proves the wire shapes
 * (paths, bodies, list envelopes, error bodies) are what OpenAI's clients expect.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { OpenAIConversationsSession } from "@openai/agents-openai";
import OpenAI from "openai";
import { openTestApp, type TestApp } from "./test-helpers.ts";

describe("openai SDK against Holdfast", () => {
  let t: TestApp;
  let client: OpenAI;
  before(async () => {
    t = await openTestApp();
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });
  after(() => t.close());

  test("conversations create, retrieve, update, delete", async () => {
    const created = await client.conversations.create({
      metadata: { topic: "sdk" },
      items: [{ type: "message", role: "user", content: "Hello!" }],
    });
    assert.equal(created.object, "conversation");
    assert.match(created.id, /^conv_/);
    const got = await client.conversations.retrieve(created.id);
    assert.deepEqual(got.metadata, { topic: "sdk" });
    const updated = await client.conversations.update(created.id, { metadata: { topic: "changed" } });
    assert.deepEqual(updated.metadata, { topic: "changed" });
    const deleted = await client.conversations.delete(created.id);
    assert.deepEqual({ ...deleted }, { id: created.id, object: "conversation.deleted", deleted: true });
  });

  test("items create, list with auto-pagination, retrieve", async () => {
    const conv = await client.conversations.create({});
    const created = await client.conversations.items.create(conv.id, {
      items: [
        { type: "message", role: "user", content: "one" },
        { type: "message", role: "assistant", content: "two" },
        { type: "message", role: "user", content: [{ type: "input_text", text: "three" }] },
      ],
    });
    assert.equal(created.object, "list");
    assert.equal(created.data.length, 3);
    const seen: string[] = [];
    for await (const item of client.conversations.items.list(conv.id, { limit: 2, order: "asc" })) {
      assert.ok(item.type === "message");
      seen.push(item.id ?? "");
    }
    assert.deepEqual(
      seen,
      created.data.map((i) => i.id),
    );
    const first = created.data[0];
    assert.ok(first);
    const one = await client.conversations.items.retrieve(first.id ?? "", { conversation_id: conv.id });
    assert.equal(one.type, "message");
    assert.ok(one.type === "message" && one.role === "user");
  });

  test("the Agents SDK's OpenAIConversationsSession adds, reads and clears history", async () => {
    const session = new OpenAIConversationsSession({ client });
    await session.addItems([
      { type: "message", role: "user", content: "What is 2+2?" },
      {
        type: "function_call",
        callId: "call_1",
        name: "add",
        arguments: '{"a":2,"b":2}',
        status: "completed",
      },
      {
        type: "function_call_result",
        callId: "call_1",
        name: "add",
        status: "completed",
        output: { type: "text", text: "4" },
      },
      {
        type: "message",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: "4" }],
      },
    ]);
    const id = await session.getSessionId();
    assert.match(id, /^conv_/);
    const all = await session.getItems();
    assert.deepEqual(
      all.map((i) => i.type),
      ["message", "function_call", "function_call_result", "message"],
    );
    const lastTwo = await session.getItems(2);
    assert.deepEqual(
      lastTwo.map((i) => i.type),
      ["function_call_result", "message"],
    );
    await session.clearSession();
    await assert.rejects(client.conversations.retrieve(id), OpenAI.NotFoundError);
  });

  test("errors surface as the SDK's typed errors with OpenAI's body", async () => {
    await assert.rejects(
      client.conversations.retrieve("conv_00000000000000000000000000000000"),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError);
        assert.equal(error.code, "not_found");
        assert.equal(error.type, "invalid_request_error");
        return true;
      },
    );
    await assert.rejects(
      client.conversations.create({ metadata: { k: 1 as unknown as string } }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "metadata.k",
    );
  });
});
