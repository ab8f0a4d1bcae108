/** The typed client against an in-process server: CRUD, items, state, fork, streaming, token refresh. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHoldfastClient, type HoldfastClient } from "./client.ts";
import { HoldfastApiError, HoldfastNetworkError } from "./errors.ts";
import { parseSse } from "./sse.ts";
import { signedInClient, startTestServer, type TestServer, texts } from "./test-support.ts";

describe("holdfast client", () => {
  let server: TestServer;
  let client: HoldfastClient;

  before(async () => {
    server = await startTestServer();
    client = createHoldfastClient({ baseUrl: server.baseUrl });
  });
  after(() => server.close());

  test("conversations: create, get, update with If-Match, list, delete", async () => {
    const created = await client.conversations.create({ metadata: { topic: "tests" } });
    assert.match(created.id, /^conv_/);
    const got = await client.conversations.get(created.id);
    assert.deepEqual(got.metadata, { topic: "tests" });
    const updated = await client.conversations.update(
      created.id,
      { metadata: { topic: "renamed" } },
      { ifMatch: got.version },
    );
    assert.equal(updated.metadata?.topic, "renamed");
    await assert.rejects(
      client.conversations.update(created.id, { metadata: { topic: "stale" } }, { ifMatch: got.version }),
      (error: unknown) =>
        error instanceof HoldfastApiError && error.status === 409 && error.code === "conflict",
    );
    const page = await client.conversations.list({ limit: 100 });
    assert.ok(page.data.some((c) => c.id === created.id));
    assert.deepEqual(await client.conversations.delete(created.id), {
      id: created.id,
      object: "conversation.deleted",
      deleted: true,
    });
    await assert.rejects(client.conversations.get(created.id), (error: unknown) => {
      return error instanceof HoldfastApiError && error.status === 404 && error.code === "not_found";
    });
  });

  test("items: append with idempotency key replays, list pages in order", async () => {
    const conv = await client.conversations.create();
    const first = await client.items.create(conv.id, [{ role: "user", content: "one" }], {
      idempotencyKey: "k-1",
      ifMatch: conv.version,
    });
    assert.equal(first.replayed, false);
    assert.equal(first.version, conv.version + 1);
    const again = await client.items.create(conv.id, [{ role: "user", content: "one" }], {
      idempotencyKey: "k-1",
    });
    assert.equal(again.replayed, true);
    assert.equal(again.data[0]?.id, first.data[0]?.id);
    for (let i = 2; i <= 5; i++) await client.items.create(conv.id, [{ role: "user", content: String(i) }]);
    const page = await client.items.list(conv.id, { order: "asc", limit: 2 });
    assert.equal(page.has_more, true);
    assert.deepEqual(texts(await client.items.listAll(conv.id)), ["one", "2", "3", "4", "5"]);
  });

  test("state, window and fork", async () => {
    const conv = await client.conversations.create({ state: { step: 1, keep: true } });
    const patched = await client.state.patch(conv.id, { step: 2, keep: null }, { ifMatch: conv.version });
    assert.deepEqual(patched.state, { step: 2 });
    assert.deepEqual((await client.state.get(conv.id)).state, { step: 2 });
    await client.items.create(conv.id, [{ role: "user", content: "a" }]);
    const window = await client.window(conv.id, 10_000);
    assert.equal(window.data.length, 1);
    const fork = await client.fork(conv.id);
    assert.notEqual(fork.id, conv.id);
    assert.deepEqual(texts(await client.items.listAll(fork.id)), ["a"]);
  });

  test("responses: JSON and streamed, both stored in the conversation", async () => {
    const conv = await client.conversations.create();
    const reply = await client.responses.create({
      model: "mock",
      input: "hello there",
      conversation: conv.id,
    });
    assert.equal(reply.status, "completed");
    const types: string[] = [];
    let deltas = "";
    for await (const event of client.responses.stream({
      model: "mock",
      input: "stream me",
      conversation: conv.id,
    })) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") deltas += String(event.delta);
    }
    assert.equal(types[0], "response.created");
    assert.equal(types.at(-1), "response.completed");
    assert.match(deltas, /stream me/);
    assert.equal((await client.items.listAll(conv.id)).length, 4);
  });

  test("a thrown fetch becomes HoldfastNetworkError", async () => {
    const offline = createHoldfastClient({
      baseUrl: server.baseUrl,
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    });
    await assert.rejects(offline.conversations.list(), HoldfastNetworkError);
  });

  test("N concurrent 401s trigger exactly one refresh; every request then succeeds", async () => {
    const pair = await server.security.refreshTokens.issue("default", { owner: "ada" });
    let refreshCalls = 0;
    const persisted: (string | null)[] = [];
    const user = createHoldfastClient({
      baseUrl: server.baseUrl,
      tokens: { accessToken: pair.accessToken, refreshToken: pair.refreshToken },
      onTokens: (tokens) => {
        persisted.push(tokens?.refreshToken ?? null);
      },
      fetch: (input, init) => {
        if (input.endsWith("/v1/auth/token")) refreshCalls++;
        return fetch(input, init);
      },
    });
    const mine = await user.conversations.create();
    assert.equal(mine.owner, "ada");
    server.advance(3600_000); // the access token has expired; the refresh family has not
    const results = await Promise.all(Array.from({ length: 8 }, () => user.conversations.get(mine.id)));
    assert.equal(results.length, 8);
    assert.equal(refreshCalls, 1);
    assert.equal(user.auth.tokens.refreshCount, 1);
    assert.equal(persisted.length, 1);
    assert.notEqual(persisted[0], pair.refreshToken);
    // The rotated token is the one that works next time; the old one is spent.
    server.advance(3600_000);
    await user.conversations.get(mine.id);
    assert.equal(refreshCalls, 2);
  });

  test("a network failure during the refresh is a HoldfastNetworkError and keeps the tokens", async () => {
    const { client: user, accessToken, refresh } = await signedInClient(server, "eve");
    const mine = await user.conversations.create();
    server.advance(3600_000);
    // The 401 arrives, then the network drops before the refresh goes out.
    refresh.down = true;
    await assert.rejects(user.conversations.get(mine.id), HoldfastNetworkError);
    assert.equal(user.auth.tokens.accessToken, accessToken);
    refresh.down = false;
    assert.equal((await user.conversations.get(mine.id)).id, mine.id);
    assert.equal(user.auth.tokens.refreshCount, 2);
  });

  test("a refused refresh ends the sign-in (tokens cleared)", async () => {
    const pair = await server.security.refreshTokens.issue("default", { owner: "bob" });
    await server.security.refreshTokens.revoke(pair.refreshToken);
    let ended = false;
    const user = createHoldfastClient({
      baseUrl: server.baseUrl,
      tokens: { accessToken: pair.accessToken, refreshToken: pair.refreshToken },
      onTokens: (tokens) => {
        ended = tokens === null;
      },
    });
    server.advance(3600_000);
    await assert.rejects(user.conversations.list(), (error: unknown) => {
      return error instanceof HoldfastApiError && error.status === 401;
    });
    assert.equal(ended, true);
    assert.equal(user.auth.tokens.accessToken, null);
  });
});

describe("SSE parser", () => {
  const streamOf = (...chunks: string[]): ReadableStream<Uint8Array> =>
    new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });

  test("events split across chunks, CRLF and CR line ends, comments, multi-line data", async () => {
    const events = [];
    for await (const event of parseSse(
      streamOf(": hi\r", "\nevent: a\r\ndata: 1\r", "\n\r\ndata: x\ndata:y\n\n", "event: b\rdata: é\r\r"),
    )) {
      events.push(event);
    }
    assert.deepEqual(events, [
      { event: "a", data: "1" },
      { event: "message", data: "x\ny" },
      { event: "b", data: "é" },
    ]);
  });
});

describe("streams cut by the network", () => {
  const sse = (type: string, n: number) =>
    `event: ${type}\ndata: {"type":"${type}","sequence_number":${n}}\n\n`;
  /** A client whose fetch answers with `chunks`, then ends the body (or fails it with `fail`). */
  const clientWith = (chunks: string[], fail?: Error) =>
    createHoldfastClient({
      baseUrl: "http://holdfast.invalid",
      fetch: async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
              if (fail) controller.error(fail);
              else controller.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    });
  const read = async (client: HoldfastClient) => {
    const types: string[] = [];
    for await (const event of client.responses.stream({ model: "mock", input: "x" })) types.push(event.type);
    return types;
  };

  test("a body that ends before the turn's last event is a HoldfastNetworkError, not a turn", async () => {
    const cut = clientWith([sse("response.created", 0), sse("response.output_text.delta", 1)]);
    await assert.rejects(read(cut), HoldfastNetworkError);
    // Cut in the middle of an event: the half event is not dispatched either.
    const half = clientWith([
      sse("response.created", 0),
      'event: response.completed\ndata: {"type":"response.co',
    ]);
    await assert.rejects(read(half), HoldfastNetworkError);
    const whole = clientWith([sse("response.created", 0), sse("response.completed", 1)]);
    assert.deepEqual(await read(whole), ["response.created", "response.completed"]);
    const failed = clientWith([sse("response.created", 0), sse("response.failed", 1)]);
    assert.deepEqual(await read(failed), ["response.created", "response.failed"]);
  });

  test("a body that fails mid-read (connection reset) is a HoldfastNetworkError", async () => {
    const reset = clientWith([sse("response.created", 0)], new TypeError("terminated"));
    await assert.rejects(read(reset), HoldfastNetworkError);
  });

  test("an event the body ends in the middle of is discarded", async () => {
    const events = [];
    for await (const event of parseSse(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("data: 1\n\ndata: 2\ndata: 3\n"));
          controller.close();
        },
      }),
    ))
      events.push(event.data);
    assert.deepEqual(events, ["1"]);
  });
});

describe("SSE early exit", () => {
  test("breaking out of a stream cancels the body", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode("data: 1\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of parseSse(body)) {
      assert.equal(event.data, "1");
      break;
    }
    assert.equal(cancelled, true);
  });
});
