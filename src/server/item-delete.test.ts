/**
 * Deleting one conversation item and deleting a response, through the official `openai` SDK and
 * the Agents SDK (unmodified) against a listening server, and their rejections over inject.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { OpenAIConversationsSession, setTracingDisabled } from "@openai/agents";
import OpenAI from "openai";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";

setTracingDisabled(true);

describe("DELETE items and responses", () => {
  let store: SessionStore;
  let gateway: Gateway;
  let app: Awaited<ReturnType<typeof createServer>>;
  let client: OpenAI;

  before(async () => {
    store = await createStore("memory:");
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    app = await createServer({ store, gateway: { engine: gateway.engine, models: gateway.models } });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await app.close();
    await gateway.close();
    await store.close();
  });

  const inject = async (method: "DELETE" | "GET", url: string, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method, url, headers });
    return { status: res.statusCode, headers: res.headers, json: JSON.parse(res.body) };
  };

  test("items.delete answers with the conversation; the item is gone, the others keep their place", async () => {
    const conv = await client.conversations.create({
      items: ["one", "two", "three"].map((text) => ({ type: "message", role: "user", content: text })),
    });
    const before = await client.conversations.items.list(conv.id, { order: "asc" });
    const [, two] = before.data;
    const deleted = await client.conversations.items.delete(two!.id!, { conversation_id: conv.id });
    assert.equal(deleted.id, conv.id);
    assert.equal(deleted.object, "conversation");
    assert.equal(typeof deleted.created_at, "number");
    const after = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.deepEqual(
      after.data.map((i) => i.id),
      [before.data[0]!.id, before.data[2]!.id],
    );
    await assert.rejects(
      client.conversations.items.retrieve(two!.id!, { conversation_id: conv.id }),
      OpenAI.NotFoundError,
    );
    await assert.rejects(
      client.conversations.items.delete(two!.id!, { conversation_id: conv.id }),
      OpenAI.NotFoundError,
    );
  });

  test("a function call and its output are deleted together", async () => {
    const conv = await client.conversations.create({
      items: [
        { type: "message", role: "user", content: "weather?" },
        { type: "function_call", call_id: "call_1", name: "weather", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
      ],
    });
    const listed = await client.conversations.items.list(conv.id, { order: "asc" });
    await client.conversations.items.delete(listed.data[2]!.id!, { conversation_id: conv.id });
    const left = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.deepEqual(
      left.data.map((i) => i.type),
      ["message"],
    );
    // The next turn's window holds no half pair.
    const r = await client.responses.create({ model: "mock", input: "and now?", conversation: conv.id });
    assert.equal(r.status, "completed");
  });

  test("responses.delete removes the response but keeps its conversation items", async () => {
    const conv = await client.conversations.create({});
    const r = await client.responses.create({ model: "mock", input: "remember me", conversation: conv.id });
    const raw = await inject("DELETE", `/v1/responses/${r.id}`);
    assert.deepEqual(raw.json, { id: r.id, object: "response", deleted: true });
    assert.equal(raw.status, 200);
    await assert.rejects(client.responses.retrieve(r.id), OpenAI.NotFoundError);
    await assert.rejects(client.responses.inputItems.list(r.id), OpenAI.NotFoundError);
    await assert.rejects(client.responses.delete(r.id), OpenAI.NotFoundError);
    await assert.rejects(
      client.responses.create({ model: "mock", input: "next", previous_response_id: r.id }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.param === "previous_response_id",
    );
    const items = await client.conversations.items.list(conv.id, { order: "asc" });
    assert.deepEqual(
      items.data.map((i) => i.type),
      ["message", "message"],
    );
    // The SDK's own call resolves too.
    const other = await client.responses.create({ model: "mock", input: "again", conversation: conv.id });
    await client.responses.delete(other.id);
    await assert.rejects(client.responses.retrieve(other.id), OpenAI.NotFoundError);
  });

  test("a stored response lists what is left when one of its items was deleted", async () => {
    const conv = await client.conversations.create({});
    const r = await client.responses.create({ model: "mock", input: "short lived", conversation: conv.id });
    const [input] = (await client.responses.inputItems.list(r.id)).data;
    await client.conversations.items.delete(input!.id, { conversation_id: conv.id });
    assert.deepEqual((await client.responses.inputItems.list(r.id)).data, []);
    const again = await client.responses.retrieve(r.id);
    assert.equal(again.output.length, r.output.length);
  });

  test("the Agents SDK's OpenAIConversationsSession.popItem removes the newest item", async () => {
    const session = new OpenAIConversationsSession({ client });
    await session.addItems([
      { type: "message", role: "user", content: "first" },
      { type: "message", role: "user", content: "second" },
    ]);
    const popped = await session.popItem();
    assert.equal((popped as { content?: unknown }).content !== undefined, true);
    const left = await session.getItems();
    assert.equal(left.length, 1);
    assert.match(JSON.stringify(left[0]), /first/);
  });

  test("rejections: bad ids 400, unknown 404, hidden bookkeeping items 404, stale If-Match 409", async () => {
    const conv = await client.conversations.create({
      items: [{ type: "message", role: "user", content: "x" }],
    });
    const [item] = (await client.conversations.items.list(conv.id)).data;
    const badItem = await inject("DELETE", `/v1/conversations/${conv.id}/items/bad%20id!`);
    assert.equal(badItem.status, 400);
    assert.equal(badItem.json.error.param, "item_id");
    const badConv = await inject("DELETE", `/v1/conversations/nope/items/${item!.id}`);
    assert.equal(badConv.status, 400);
    assert.ok(badConv.json.error.code);
    const unknown = await inject("DELETE", `/v1/conversations/${conv.id}/items/msg_unknown`);
    assert.deepEqual([unknown.status, unknown.json.error.code], [404, "not_found"]);
    const stale = await inject("DELETE", `/v1/conversations/${conv.id}/items/${item!.id}`, {
      "if-match": '"99"',
    });
    assert.deepEqual([stale.status, stale.json.error.code], [409, "conflict"]);
    const { version } = (await inject("GET", `/v1/conversations/${conv.id}`)).json;
    const ok = await inject("DELETE", `/v1/conversations/${conv.id}/items/${item!.id}`, {
      "if-match": `"${version}"`,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.etag, `"${version + 1}"`);
    assert.deepEqual([ok.json.version, ok.json.item_count], [version + 1, 0]);
    const r = await client.responses.create({ model: "mock", input: "y", conversation: conv.id });
    const record = await inject("DELETE", `/v1/conversations/${conv.id}/items/${r.id}`);
    assert.deepEqual([record.status, record.json.error.code], [404, "not_found"]);
    const badResponse = await inject("DELETE", "/v1/responses/resp_bad");
    assert.deepEqual([badResponse.status, badResponse.json.error.param], [400, "response_id"]);
  });
});
