/**
 * Security through HTTP: credentials, scopes, tenant isolation on every route, end-user owner
 * checks and rate limits, on a server built exactly as `holdfast serve` builds it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createSecurity, type Security } from "../security/create-security.ts";
import { createRateLimiter, type RateLimiter } from "../security/rate-limit/limiter.ts";
import { createMemoryRateLimitBackend } from "../security/rate-limit/memory-backend.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";

interface Call {
  status: number;
  json: { error?: { code: string; message?: string; type?: string }; id?: string; [key: string]: unknown };
  headers: Record<string, unknown>;
}

describe("security over HTTP", () => {
  let store: SessionStore;
  let security: Security;
  let gateway: Gateway;
  let app: FastifyInstance;
  let keyA: string;
  let keyB: string;
  let readOnlyA: string;
  let limiter: RateLimiter;
  /** Tokens per minute per API key. */
  const BUDGET = 10_000;

  const call = async (
    method: string,
    url: string,
    key: string | null,
    payload?: unknown,
    headers = {},
  ): Promise<Call> => {
    const res = await app.inject({
      method: method as "GET",
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : {}, headers: res.headers };
  };

  before(async () => {
    store = await createStore("memory:");
    security = createSecurity({ store });
    keyA = (await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] })).secret;
    keyB = (await security.apiKeys.create({ tenant: "globex", scopes: ["admin"] })).secret;
    readOnlyA = (await security.apiKeys.create({ tenant: "acme", scopes: ["conversations:read"] })).secret;
    gateway = createGateway({ store, providers: createProviderLayer(parseProvidersConfig(undefined, {})) });
    limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend(),
      perOwner: { requestsPerMinute: 5 },
      perKey: { tokensPerMinute: BUDGET },
    });
    app = await createServer({
      store,
      gateway: { engine: gateway.engine, models: gateway.models },
      security: { security, development: false, limiter },
    });
  });
  after(async () => {
    await app.close();
    await gateway.close();
    await store.close();
  });

  test("no or bad credentials: 401 with a code; public health check stays open", async () => {
    assert.equal((await call("GET", "/v1/conversations", null)).json.error?.code, "invalid_api_key");
    assert.equal((await call("GET", "/v1/conversations", "hf_not-a-real-key")).status, 401);
    assert.equal((await call("GET", "/v1/conversations", "a.b.c")).json.error?.code, "invalid_token");
    assert.equal((await call("GET", "/healthz", null)).status, 200);
  });

  test("scopes: a read-only key reads but cannot write or run turns", async () => {
    assert.equal((await call("GET", "/v1/conversations", readOnlyA)).status, 200);
    assert.equal((await call("POST", "/v1/conversations", readOnlyA, {})).status, 403);
    const turn = await call("POST", "/v1/responses", readOnlyA, { model: "mock", input: "x" });
    assert.equal(turn.json.error?.code, "permission_denied");
    const conv = await call("POST", "/v1/conversations", keyA, {
      items: [{ role: "user", content: "keep" }],
    });
    const listed = await call("GET", `/v1/conversations/${conv.json.id}/items`, keyA);
    const itemId = (listed.json.data as { id: string }[])[0]!.id;
    const removal = await call("DELETE", `/v1/conversations/${conv.json.id}/items/${itemId}`, readOnlyA);
    assert.equal(removal.json.error?.code, "permission_denied");
    const response = await call("POST", "/v1/responses", keyA, { model: "mock", input: "x" });
    const drop = await call("DELETE", `/v1/responses/${response.json.id}`, readOnlyA);
    assert.equal(drop.json.error?.code, "permission_denied");
    assert.equal((await call("GET", `/v1/responses/${response.json.id}`, keyA)).status, 200);
  });

  test("every route denies another tenant's conversation as not_found", async () => {
    const conv = await call("POST", "/v1/conversations", keyA, {
      items: [{ role: "user", content: "secret" }],
    });
    const id = conv.json.id as string;
    const turn = await call("POST", "/v1/responses", keyA, {
      model: "mock",
      input: "more secret",
      conversation: id,
    });
    const responseId = turn.json.id as string;
    const items = await call("GET", `/v1/conversations/${id}/items`, keyA);
    const itemId = (items.json.data as { id: string }[])[0]!.id;
    const routes: [string, string, unknown?, Record<string, string>?][] = [
      ["GET", `/v1/conversations/${id}`],
      ["POST", `/v1/conversations/${id}`, { metadata: { x: "y" } }],
      ["GET", `/v1/conversations/${id}/items`],
      ["POST", `/v1/conversations/${id}/items`, { items: [{ role: "user", content: "intruder" }] }],
      ["GET", `/v1/conversations/${id}/items/${itemId}`],
      ["GET", `/v1/conversations/${id}/window?max_tokens=100`],
      ["GET", `/v1/conversations/${id}/state`],
      ["PATCH", `/v1/conversations/${id}/state`, { pwned: true }],
      ["POST", `/v1/conversations/${id}/fork`, {}],
      ["POST", "/v1/responses", { model: "mock", input: "x", conversation: id }],
      ["POST", "/v1/responses", { model: "mock", input: "x", previous_response_id: responseId }],
      ["GET", `/v1/responses/${responseId}`],
      ["GET", `/v1/responses/${responseId}/input_items`],
      ["DELETE", `/v1/conversations/${id}/items/${itemId}`],
      ["DELETE", `/v1/responses/${responseId}`],
      [
        "POST",
        "/v1/chat/completions",
        { model: "mock", messages: [{ role: "user", content: "x" }] },
        { "holdfast-conversation": id },
      ],
      ["DELETE", `/v1/conversations/${id}`],
    ];
    for (const [method, url, body, headers] of routes) {
      const res = await call(method, url, keyB, body, headers);
      assert.equal(res.status, 404, `${method} ${url} answered ${res.status} for another tenant`);
      assert.equal(res.json.error?.code, "not_found", `${method} ${url}`);
    }
    const list = await call("GET", "/v1/conversations", keyB);
    assert.ok(!JSON.stringify(list.json).includes(id));
    // Nothing leaked, nothing changed.
    const still = await call("GET", `/v1/conversations/${id}/items?order=asc`, keyA);
    assert.ok(!JSON.stringify(still.json).includes("intruder"));
    assert.equal((await call("GET", `/v1/conversations/${id}/state`, keyA)).json.pwned, undefined);
    assert.equal((await call("GET", `/v1/conversations/${id}/items/${itemId}`, keyA)).status, 200);
    assert.equal((await call("GET", `/v1/responses/${responseId}`, keyA)).status, 200);
  });

  test("end-user tokens reach only their own conversations", async () => {
    const alice = (await security.accessTokens.mint("acme", { owner: "alice" })).token;
    const bob = (await security.accessTokens.mint("acme", { owner: "bob" })).token;
    const mine = await call("POST", "/v1/conversations", alice, {});
    assert.equal(mine.status, 200);
    assert.equal(mine.json.owner, "alice");
    const turn = await call("POST", "/v1/responses", alice, {
      model: "mock",
      input: "hi",
      conversation: mine.json.id,
    });
    assert.equal(turn.status, 200);
    // Another user's conversation is as missing as one that never existed (owner-not-found.test.ts).
    const theirs = await call("GET", `/v1/conversations/${mine.json.id}`, bob);
    assert.equal(theirs.json.error?.code, "not_found");
    const own = await call("GET", `/v1/conversations/${mine.json.id}/items`, alice);
    const itemId = (own.json.data as { id: string }[])[0]!.id;
    const removal = await call("DELETE", `/v1/conversations/${mine.json.id}/items/${itemId}`, bob);
    assert.equal(removal.json.error?.code, "not_found");
    const drop = await call("DELETE", `/v1/responses/${turn.json.id}`, bob);
    assert.equal(drop.json.error?.code, "not_found");
    const listed = await call("GET", "/v1/conversations", bob);
    assert.deepEqual(listed.json.data, []);
    const admin = await call("GET", `/v1/conversations/${mine.json.id}`, keyA);
    assert.equal(admin.status, 200);
  });

  test("a turn without a conversation belongs to its end user; chaining and forking keep it theirs", async () => {
    const kim = (await security.accessTokens.mint("acme", { owner: "kim" })).token;
    const lou = (await security.accessTokens.mint("acme", { owner: "lou" })).token;
    const conversationOf = (responseId: string) => `conv_${responseId.slice("resp_".length + 16)}`;
    const first = await call("POST", "/v1/responses", kim, { model: "mock", input: "hello" });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const id = first.json.id as string;
    assert.equal((await call("GET", `/v1/responses/${id}`, kim)).status, 200);
    assert.equal((await call("GET", `/v1/responses/${id}/input_items`, kim)).status, 200);
    const next = await call("POST", "/v1/responses", kim, {
      model: "mock",
      input: "and then?",
      previous_response_id: id,
    });
    assert.equal(next.status, 200, JSON.stringify(next.json));
    assert.equal(conversationOf(next.json.id as string), conversationOf(id), "continued in place");
    // The first response is no longer the newest: chaining from it again forks.
    const branch = await call("POST", "/v1/responses", kim, {
      model: "mock",
      input: "or else?",
      previous_response_id: id,
    });
    assert.equal(branch.status, 200, JSON.stringify(branch.json));
    const fork = conversationOf(branch.json.id as string);
    assert.notEqual(fork, conversationOf(id));
    for (const conversation of [conversationOf(id), fork]) {
      assert.equal((await call("GET", `/v1/conversations/${conversation}`, keyA)).json.owner, "kim");
    }
    for (const url of [`/v1/responses/${id}`, `/v1/responses/${id}/input_items`]) {
      assert.equal((await call("GET", url, lou)).json.error?.code, "not_found", url);
    }
    const chained = await call("POST", "/v1/responses", lou, {
      model: "mock",
      input: "x",
      previous_response_id: id,
    });
    assert.equal(chained.json.error?.code, "not_found");
  });

  test("the same Idempotency-Key and body from two end users are two turns; a retry replays", async () => {
    const ida = (await security.accessTokens.mint("acme", { owner: "ida" })).token;
    const jon = (await security.accessTokens.mint("acme", { owner: "jon" })).token;
    const body = { model: "mock", input: "the same words" };
    const headers = { "idempotency-key": "shared-key-1" };
    const hers = await call("POST", "/v1/responses", ida, body, headers);
    const his = await call("POST", "/v1/responses", jon, body, headers);
    assert.equal(hers.status, 200, JSON.stringify(hers.json));
    assert.equal(his.status, 200, JSON.stringify(his.json));
    assert.notEqual(his.json.id, hers.json.id, "jon got ida's response");
    const retry = await call("POST", "/v1/responses", ida, body, headers);
    assert.equal(retry.json.id, hers.json.id, "ida's retry replays her response");
    assert.equal((await call("GET", `/v1/responses/${his.json.id}`, jon)).status, 200);
    assert.equal((await call("GET", `/v1/responses/${hers.json.id}`, jon)).status, 404);
    // An API key's keyed turn derives its ids as before (no owner in the hash): its retry replays.
    const keyed = await call("POST", "/v1/responses", keyA, body, headers);
    assert.notEqual(keyed.json.id, hers.json.id);
    assert.equal((await call("POST", "/v1/responses", keyA, body, headers)).json.id, keyed.json.id);
  });

  test("a chat turn cannot name its own conversation in the body and another's in the header", async () => {
    const eve = (await security.accessTokens.mint("acme", { owner: "eve" })).token;
    const own = await call("POST", "/v1/conversations", eve, {});
    const turn = await call("POST", "/v1/responses", eve, {
      model: "mock",
      input: "x",
      conversation: own.json.id,
    });
    const victim = await call("POST", "/v1/conversations", keyA, {
      items: [{ role: "user", content: "private" }],
    });
    const messages = [{ role: "user", content: "tell me what came before" }];
    const decoys = [
      { conversation: own.json.id },
      { conversation: { id: own.json.id } },
      { previous_response_id: turn.json.id },
    ];
    for (const decoy of decoys) {
      const res = await call(
        "POST",
        "/v1/chat/completions",
        eve,
        { model: "mock", messages, ...decoy },
        { "holdfast-conversation": victim.json.id as string },
      );
      assert.equal(res.status, 404, `${JSON.stringify(decoy)}: ${JSON.stringify(res.json).slice(0, 200)}`);
      assert.equal(res.json.error?.code, "not_found");
    }
    const items = await call("GET", `/v1/conversations/${victim.json.id}/items`, keyA);
    assert.equal(
      (items.json.data as unknown[]).length,
      1,
      "nothing was appended to the victim's conversation",
    );
  });

  test("an end-user token cannot hand a conversation or a fork of it to another user", async () => {
    const mallory = (await security.accessTokens.mint("acme", { owner: "mallory" })).token;
    const victim = (await security.accessTokens.mint("acme", { owner: "victor" })).token;
    const forged = await call("POST", "/v1/conversations", mallory, {
      items: [{ role: "assistant", content: "Victor, reset your password at evil.example" }],
    });
    const id = forged.json.id as string;
    for (const [url, body] of [
      [`/v1/conversations/${id}/fork`, { owner: "victor" }],
      [`/v1/conversations/${id}/fork`, { owner: null }],
      [`/v1/conversations/${id}`, { owner: "victor" }],
    ] as const) {
      const res = await call("POST", url, mallory, body);
      assert.equal(res.status, 403, `${url} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error?.code, "permission_denied");
    }
    assert.deepEqual((await call("GET", "/v1/conversations", victim)).json.data, []);
    assert.equal((await call("GET", `/v1/conversations/${id}`, keyA)).json.owner, "mallory");
    // Naming oneself stays allowed, and a plain fork stays the caller's.
    assert.equal((await call("POST", `/v1/conversations/${id}`, mallory, { owner: "mallory" })).status, 200);
    const fork = await call("POST", `/v1/conversations/${id}/fork`, mallory, {});
    assert.equal(fork.json.owner, "mallory");
  });

  test("listing: HEAD is filtered like GET; a conversation-scoped token lists nothing else", async () => {
    const wendy = (await security.accessTokens.mint("acme", { owner: "wendy" })).token;
    const mine = await call("POST", "/v1/conversations", wendy, {});
    await call("POST", "/v1/conversations", wendy, { metadata: { other: "yes" } });
    await call("POST", "/v1/conversations", keyA, { metadata: { tenant: "wide".repeat(50) } });
    const head = async (token: string) =>
      (
        await app.inject({
          method: "HEAD",
          url: "/v1/conversations",
          headers: { authorization: `Bearer ${token}` },
        })
      ).headers["content-length"];
    const get = await app.inject({ url: "/v1/conversations", headers: { authorization: `Bearer ${wendy}` } });
    assert.equal(
      await head(wendy),
      get.headers["content-length"],
      "HEAD answers what GET would, not the tenant",
    );
    const scoped = (
      await security.accessTokens.mint("acme", { owner: "wendy", conversationId: mine.json.id as string })
    ).token;
    const listed = await call("GET", "/v1/conversations", scoped);
    assert.equal(listed.status, 403);
    assert.equal(listed.json.error?.code, "permission_denied");
    assert.equal((await call("GET", `/v1/conversations/${mine.json.id}`, scoped)).status, 200);
    // Models: listing and retrieving one are both open to end users (wendy spent her 5 requests).
    const wanda = (await security.accessTokens.mint("acme", { owner: "wanda" })).token;
    assert.equal((await call("GET", "/v1/models/mock", wanda)).status, 200);
  });

  test("a conversation-scoped token cannot fork its conversation", async () => {
    const mine = await call("POST", "/v1/conversations", keyA, {
      owner: "xena",
      items: [{ role: "user", content: "hi" }],
    });
    const id = mine.json.id as string;
    const scoped = (await security.accessTokens.mint("acme", { owner: "xena", conversationId: id })).token;
    const fork = await call("POST", `/v1/conversations/${id}/fork`, scoped, {});
    assert.equal(fork.status, 403, JSON.stringify(fork.json));
    assert.equal(fork.json.error?.code, "permission_denied");
    assert.match(fork.json.error?.message ?? "", /conversation-scoped token/);
    const forks = await call("GET", `/v1/conversations?owner=xena`, keyA);
    assert.equal((forks.json.data as unknown[]).length, 1, "no fork was made");
    assert.equal((await call("GET", `/v1/conversations/${id}`, scoped)).status, 200);
  });

  test("a conversation-scoped token cannot fork through a turn on an older response", async () => {
    const id = (await call("POST", "/v1/conversations", keyA, { owner: "yuri" })).json.id as string;
    const turn = { model: "mock", conversation: id };
    const first = await call("POST", "/v1/responses", keyA, { ...turn, input: "one" });
    const second = await call("POST", "/v1/responses", keyA, { ...turn, input: "two" });
    const scoped = (await security.accessTokens.mint("acme", { owner: "yuri", conversationId: id })).token;
    const before = (await store.get("acme", id)).version;
    for (const stream of [false, true]) {
      const fork = await call("POST", "/v1/responses", scoped, {
        model: "mock",
        input: "branch",
        previous_response_id: first.json.id,
        stream,
      });
      assert.equal(fork.status, 403, JSON.stringify(fork.json));
      assert.equal(fork.json.error?.code, "permission_denied");
      assert.match(fork.json.error?.message ?? "", /newest response/);
    }
    const yuris = await store.list("acme", { owner: "yuri" });
    assert.deepEqual(
      yuris.data.map((s) => s.id),
      [id],
      "no fork was made",
    );
    assert.equal((await store.get("acme", id)).version, before, "nothing was written");
    const next = await call("POST", "/v1/responses", scoped, {
      model: "mock",
      input: "three",
      previous_response_id: second.json.id,
    });
    assert.equal(next.status, 200, "the newest response is continued in place");
    assert.equal((await store.list("acme", { owner: "yuri" })).data.length, 1);
  });

  test("rate limits answer 429 rate_limit_exceeded with Retry-After", async () => {
    const carol = (await security.accessTokens.mint("acme", { owner: "carol" })).token;
    const statuses: number[] = [];
    let limited: Call | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await call("GET", "/v1/conversations", carol);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
    assert.ok(limited, `expected a 429 in ${statuses}`);
    assert.equal(limited.json.error?.code, "rate_limit_exceeded");
    assert.equal(limited.json.error?.type, "requests", "OpenAI's type names the limit hit");
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
  });

  test("model calls refused before or during the turn give their token estimate back", async () => {
    const { secret, key } = await security.apiKeys.create({ tenant: "acme", scopes: ["responses"] });
    const messages = [{ role: "user", content: "hi" }];
    const failures: [string, object, Record<string, string>, number][] = [
      ["/v1/chat/completions", { model: "mock", messages: "not a list", max_tokens: 3000 }, {}, 400],
      [
        "/v1/chat/completions",
        { model: "mock", messages, max_tokens: 3000 },
        { "holdfast-conversation": "nope" },
        400,
      ],
      [
        "/v1/responses",
        { model: "mock", input: "hi", conversation: "conv_doesnotexist000", max_output_tokens: 3000 },
        {},
        404,
      ],
    ];
    for (let i = 0; i < 9; i++) {
      const [url, payload, headers, status] = failures[i % 3]!;
      const res = await call("POST", url, secret, payload, headers);
      assert.equal(res.status, status, JSON.stringify(res.json));
    }
    // The whole budget is there again: a reservation of all of it passes.
    const full = await limiter.reserve({ tenant: "acme", keyId: key.keyId, estimatedTokens: BUDGET });
    await full.settle(0);
    const ok = await call("POST", "/v1/chat/completions", secret, {
      model: "mock",
      messages,
      max_tokens: 3000,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  test("admin routes manage the caller's tenant keys; other tenants' keys are not_found", async () => {
    const created = await call("POST", "/v1/admin/keys", keyA, { scopes: ["responses"], name: "ci" });
    assert.equal(created.status, 200);
    const secret = created.json.secret as string;
    const keyId = (created.json.key as { keyId: string }).keyId;
    assert.equal((await call("GET", "/v1/models", secret)).status, 200);
    const listed = await call("GET", "/v1/admin/keys", keyA);
    assert.ok((listed.json.data as { keyId: string }[]).some((k) => k.keyId === keyId));
    assert.ok(!JSON.stringify(listed.json).includes(secret), "listing never shows a secret");
    assert.equal((await call("POST", `/v1/admin/keys/${keyId}/revoke`, keyB, {})).status, 404);
    assert.equal((await call("GET", "/v1/admin/keys", readOnlyA)).status, 403);
    const rotated = await call("POST", `/v1/admin/keys/${keyId}/rotate`, keyA, {});
    assert.equal(rotated.status, 200);
    assert.equal((await call("GET", "/v1/models", secret)).status, 401, "the old secret stops working");
    assert.equal((await call("GET", "/v1/models", rotated.json.secret as string)).status, 200);
    const revoked = await call(
      "POST",
      `/v1/admin/keys/${(rotated.json.key as { keyId: string }).keyId}/revoke`,
      keyA,
      {},
    );
    assert.equal(revoked.status, 200);
    assert.equal((await call("GET", "/v1/models", rotated.json.secret as string)).status, 401);
  });

  test("a bad key to create is 400 invalid_argument and creates nothing", async () => {
    const before = ((await call("GET", "/v1/admin/keys", keyA)).json.data as unknown[]).length;
    // expires_at 1 is 1970: a key born expired is refused rather than created dead.
    for (const body of [
      { scopes: ["root"] },
      { scopes: ["admin"], expires_at: 9e15 },
      { scopes: ["admin"], expires_at: 1 },
    ]) {
      const res = await call("POST", "/v1/admin/keys", keyA, body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.error?.code, "invalid_argument");
    }
    assert.equal(((await call("GET", "/v1/admin/keys", keyA)).json.data as unknown[]).length, before);
  });
});
