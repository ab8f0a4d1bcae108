/**
 * End users of one tenant over HTTP: another user's conversation, item or response answers
 * exactly as one that never existed (404 `not_found`), on every route that takes an id — a 403
 * would tell a user that the id they hold (a leaked link, a log line) is live.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createSecurity, type Security } from "../security/create-security.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";

interface Answer {
  status: number;
  json: { error?: { code: string; message: string; param: string | null }; [key: string]: unknown };
}

/** The routes that take a conversation, item or response id, as [method, url, body?, headers?]. */
function routesOf(conv: string, item: string, response: string): [string, string, unknown?, object?][] {
  const messages = [{ role: "user", content: "x" }];
  return [
    ["GET", `/v1/conversations/${conv}`],
    ["HEAD", `/v1/conversations/${conv}`],
    ["POST", `/v1/conversations/${conv}`, { metadata: { x: "y" } }],
    ["GET", `/v1/conversations/${conv}/items`],
    ["POST", `/v1/conversations/${conv}/items`, { items: [{ role: "user", content: "intruder" }] }],
    ["GET", `/v1/conversations/${conv}/items/${item}`],
    ["DELETE", `/v1/conversations/${conv}/items/${item}`],
    ["GET", `/v1/conversations/${conv}/window?max_tokens=100`],
    ["GET", `/v1/conversations/${conv}/state`],
    ["PATCH", `/v1/conversations/${conv}/state`, { pwned: true }],
    ["POST", `/v1/conversations/${conv}/fork`, {}],
    ["GET", `/v1/conversations/${conv}/usage`],
    ["POST", "/v1/responses", { model: "mock", input: "x", conversation: conv }],
    ["POST", "/v1/responses", { model: "mock", input: "x", conversation: { id: conv } }],
    ["POST", "/v1/responses", { model: "mock", input: "x", previous_response_id: response }],
    ["GET", `/v1/responses/${response}`],
    ["GET", `/v1/responses/${response}/input_items`],
    ["DELETE", `/v1/responses/${response}`],
    ["POST", "/v1/chat/completions", { model: "mock", messages }, { "holdfast-conversation": conv }],
    ["DELETE", `/v1/conversations/${conv}`],
  ];
}

describe("end users: another user's ids are not_found, as missing ones", () => {
  let store: SessionStore;
  let security: Security;
  let gateway: Gateway;
  let app: FastifyInstance;

  const call = async (method: string, url: string, token: string, body?: unknown, headers = {}) => {
    const res = await app.inject({
      method: method as "GET",
      url,
      headers: { authorization: `Bearer ${token}`, ...headers },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : {} } as Answer;
  };

  before(async () => {
    store = await createStore("memory:");
    security = createSecurity({ store });
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    app = await createServer({
      store,
      gateway: { engine: gateway.engine, models: gateway.models },
      security: { security, development: false },
    });
  });
  after(async () => {
    await app.close();
    await gateway.close();
    await store.close();
  });

  test("every route answers another user's id as it answers an id that never existed", async () => {
    const alice = (await security.accessTokens.mint("acme", { owner: "alice" })).token;
    const bob = (await security.accessTokens.mint("acme", { owner: "bob" })).token;
    const conv = (await call("POST", "/v1/conversations", alice, {})).json.id as string;
    const turn = await call("POST", "/v1/responses", alice, {
      model: "mock",
      input: "secret",
      conversation: conv,
    });
    assert.equal(turn.status, 200, JSON.stringify(turn.json));
    const response = turn.json.id as string;
    const items = await call("GET", `/v1/conversations/${conv}/items`, alice);
    const item = (items.json.data as { id: string }[])[0]!.id;
    // Ids of the same shapes that no one ever had.
    const ghost = `conv_${randomBytes(16).toString("hex")}`;
    const ghostResponse = `resp_${randomBytes(8).toString("hex")}${ghost.slice("conv_".length)}`;
    const ghostItem = `${item.slice(0, -6)}zzzzzz`;
    const hers = routesOf(conv, item, response);
    const none = routesOf(ghost, ghostItem, ghostResponse);
    for (const [index, [method, url, body, headers]] of hers.entries()) {
      const answer = await call(method, url, bob, body, headers);
      const [, ghostUrl, ghostBody, ghostHeaders] = none[index]!;
      const missing = await call(method, ghostUrl, bob, ghostBody, ghostHeaders);
      assert.equal(
        answer.status,
        404,
        `${method} ${url} answered ${answer.status}: ${JSON.stringify(answer.json)}`,
      );
      assert.equal(missing.status, 404, `${method} ${ghostUrl}: ${JSON.stringify(missing.json)}`);
      if (method === "HEAD") continue;
      // The same words but for the id: nothing tells the two apart.
      assert.deepEqual(
        { ...answer.json.error, message: answer.json.error?.message.replace(conv, ghost) },
        missing.json.error,
        `${method} ${url}`,
      );
    }
    // Nothing leaked, nothing changed.
    const still = await call("GET", `/v1/conversations/${conv}/items?order=asc`, alice);
    assert.equal((still.json.data as unknown[]).length, 2, JSON.stringify(still.json));
    assert.equal((await call("GET", `/v1/conversations/${conv}/state`, alice)).json.pwned, undefined);
    assert.equal((await call("GET", `/v1/responses/${response}`, alice)).status, 200);
    assert.equal((await store.list("acme", { owner: "bob" })).data.length, 0, "bob made nothing");
  });

  test("a conversation-scoped token: another user's conversation is not_found, its own user's other one 403", async () => {
    const own = await store.create("acme", { owner: "cara" });
    const other = await store.create("acme", { owner: "cara" });
    const foreign = await store.create("acme", { owner: "dan" });
    const scoped = (await security.accessTokens.mint("acme", { owner: "cara", conversationId: own.id }))
      .token;
    assert.equal((await call("GET", `/v1/conversations/${own.id}`, scoped)).status, 200);
    const sibling = await call("GET", `/v1/conversations/${other.id}`, scoped);
    assert.equal(sibling.json.error?.code, "permission_denied", "the user's own conversation: say why");
    const theirs = await call("GET", `/v1/conversations/${foreign.id}`, scoped);
    assert.equal(theirs.status, 404, JSON.stringify(theirs.json));
    assert.equal(theirs.json.error?.code, "not_found");
  });
});
