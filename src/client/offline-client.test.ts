/**
 * The offline layer against an in-process server: queue order, exactly-once after network
 * failures (including lost answers), conflict rebase and the hook, durable queue across a
 * restart (file storage), cache eviction, logout wipe.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createHoldfastClient, type HoldfastClient } from "./client.ts";
import { ConversationCache } from "./conversation-cache.ts";
import type { ConflictContext } from "./flush.ts";
import { createOfflineClient, type OfflineClientOptions } from "./offline-client.ts";
import { createFileStorage } from "./storage/file-storage.ts";
import { createMemoryStorage } from "./storage/memory-storage.ts";
import { createFlakyFetch, signedInClient, startTestServer, type TestServer, texts } from "./test-support.ts";

const user = (text: string) => [{ role: "user", content: text }];

describe("offline client", () => {
  let server: TestServer;
  let direct: HoldfastClient;

  before(async () => {
    server = await startTestServer();
    direct = createHoldfastClient({ baseUrl: server.baseUrl });
  });
  after(() => server.close());

  function setup(extra: Partial<OfflineClientOptions> = {}) {
    const net = createFlakyFetch();
    const client = createHoldfastClient({ baseUrl: server.baseUrl, fetch: net.fetch });
    const storage = extra.storage ?? createMemoryStorage();
    const offline = createOfflineClient({ client, storage, retryDelayMs: 0, events: null, ...extra });
    return { net, client, storage, offline };
  }

  /** A client signed in as `owner` over a flaky network, with the token pair it started from. */
  async function signedInFlaky(owner: string) {
    const pair = await server.security.refreshTokens.issue("default", { owner });
    const net = createFlakyFetch();
    const client = createHoldfastClient({
      baseUrl: server.baseUrl,
      fetch: net.fetch,
      tokens: { accessToken: pair.accessToken, refreshToken: pair.refreshToken },
    });
    return { pair, net, client };
  }

  test("appends made offline are sent in order, once each, when the network returns", async () => {
    const { net, offline } = setup();
    const conv = await offline.create();
    const id = conv.conversation.id;
    await offline.append(id, user("m1"));
    await offline.flush();
    net.mode = "down";
    for (const text of ["m2", "m3", "m4"]) await offline.append(id, user(text));
    assert.equal((await offline.flush()).stoppedBy, "network");
    assert.equal((await offline.status()).online, false);
    assert.equal((await offline.pending(id)).length, 3);
    // The cached view still shows the conversation, with the queued items.
    const cached = await offline.open(id);
    assert.equal(cached.fromCache, true);
    assert.deepEqual(texts(cached.items), ["m1"]);
    assert.deepEqual(
      cached.pending.map((entry) => texts(entry.items)[0]),
      ["m2", "m3", "m4"],
    );
    net.mode = "up";
    const result = await offline.flush();
    assert.deepEqual(result, { sent: 3, rebased: 0, dropped: 0, stoppedBy: null, staleCache: [] });
    assert.deepEqual(texts(await direct.items.listAll(id)), ["m1", "m2", "m3", "m4"]);
    const view = await offline.view(id);
    assert.deepEqual(texts(view?.items ?? []), ["m1", "m2", "m3", "m4"]);
    assert.equal(view?.version, (await direct.conversations.get(id)).version);
    await offline.close();
  });

  test("exactly once when the answers are lost: the retry replays by idempotency key", async () => {
    const { net, offline } = setup();
    const id = (await offline.create()).conversation.id;
    net.mode = "lose-answers";
    await offline.append(id, user("a"));
    await offline.append(id, user("b"));
    await offline.flush();
    // The first append reached the server, its answer did not; it is still queued.
    assert.deepEqual(texts(await direct.items.listAll(id)), ["a"]);
    assert.equal((await offline.pending()).length, 2);
    net.mode = "up";
    assert.equal((await offline.flush()).stoppedBy, null);
    assert.deepEqual(texts(await direct.items.listAll(id)), ["a", "b"]);
    assert.deepEqual(texts((await offline.view(id))?.items ?? []), ["a", "b"]);
    await offline.close();
  });

  test("a conversation moved on another device: queued items are rebased, not dropped", async () => {
    const { net, offline } = setup();
    const id = (await offline.create()).conversation.id;
    await offline.append(id, user("mine-1"));
    await offline.flush();
    net.mode = "down";
    await offline.append(id, user("mine-2"));
    await offline.append(id, user("mine-3"));
    await direct.items.create(id, user("theirs")); // another device, meanwhile
    net.mode = "up";
    const result = await offline.flush();
    assert.equal(result.rebased, 1);
    assert.equal(result.sent, 2);
    assert.equal(result.dropped, 0);
    assert.deepEqual(texts(await direct.items.listAll(id)), ["mine-1", "theirs", "mine-2", "mine-3"]);
    assert.deepEqual(texts((await offline.view(id))?.items ?? []), ["mine-1", "theirs", "mine-2", "mine-3"]);
    await offline.close();
  });

  test("onConflict sees the remote items and may drop or replace the queued append", async () => {
    const seen: ConflictContext[] = [];
    const { net, offline } = setup({
      onConflict: (ctx) => {
        seen.push(ctx);
        const text = texts(ctx.entry.items)[0];
        if (text === "obsolete") return "drop";
        return { items: user(`${text} (after ${texts(ctx.remoteItems).join(",")})`) };
      },
    });
    const id = (await offline.create()).conversation.id;
    net.mode = "down";
    await offline.append(id, user("obsolete"));
    await direct.items.create(id, user("remote-1"));
    net.mode = "up";
    assert.equal((await offline.flush()).dropped, 1);
    assert.deepEqual(texts(seen[0]?.remoteItems ?? []), ["remote-1"]);
    assert.equal(seen[0]?.serverVersion, (await direct.conversations.get(id)).version);
    net.mode = "down";
    await offline.append(id, user("edit"));
    await direct.items.create(id, user("remote-2"));
    net.mode = "up";
    const result = await offline.flush();
    assert.equal(result.rebased, 1);
    assert.equal(result.sent, 1);
    assert.deepEqual(texts(await direct.items.listAll(id)), [
      "remote-1",
      "remote-2",
      "edit (after remote-2)",
    ]);
    assert.equal((await offline.pending()).length, 0);
    await offline.close();
  });

  test("an append refused for an item id that already exists is parked, not rebased forever", async () => {
    const { offline } = setup();
    const item = (text: string) => [{ id: "msg_fixed", type: "message", role: "user", content: text }];
    const id = (await offline.create({ items: item("first") })).conversation.id;
    const refused = await offline.append(id, item("again"));
    await offline.append(id, user("behind it"));
    const result = await offline.flush();
    assert.deepEqual(result, { sent: 0, rebased: 0, dropped: 0, stoppedBy: null, staleCache: [] });
    const [parked, waiting] = await offline.pending(id);
    assert.equal(parked?.key, refused.key);
    assert.deepEqual(
      { status: parked?.error?.status, code: parked?.error?.code },
      { status: 409, code: "conflict" },
    );
    assert.equal(waiting?.error, undefined, "the next entry of the conversation waits behind it");
    assert.deepEqual(await offline.status(), { online: true, pending: 1, failed: 1, authRequired: false });
    await offline.discard(refused.key);
    assert.equal((await offline.flush()).sent, 1);
    assert.deepEqual(texts(await direct.items.listAll(id)), ["first", "behind it"]);
    await offline.close();
  });

  test("opening a conversation deleted on the server drops it from the cache", async () => {
    const { offline } = setup();
    const id = (await offline.create()).conversation.id;
    await direct.conversations.delete(id);
    await assert.rejects(offline.open(id), { status: 404, code: "not_found" });
    assert.equal(await offline.view(id), undefined);
    assert.deepEqual(await offline.cachedIds(), []);
    await offline.close();
  });

  test("the queue survives a restart (file storage) and is sent exactly once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "holdfast-client-"));
    try {
      const path = join(dir, "offline.json");
      const first = setup({ storage: await createFileStorage(path) });
      const id = (await first.offline.create()).conversation.id;
      first.net.mode = "lose-answers";
      await first.offline.append(id, user("before crash"));
      await first.offline.flush();
      first.net.mode = "down";
      await first.offline.append(id, user("while offline"));
      await first.offline.close();
      await first.storage.close?.();
      // A new process: same file.
      const second = setup({ storage: await createFileStorage(path) });
      assert.equal((await second.offline.pending(id)).length, 2);
      assert.equal((await second.offline.view(id))?.conversation.id, id);
      assert.equal((await second.offline.flush()).stoppedBy, null);
      assert.deepEqual(texts(await direct.items.listAll(id)), ["before crash", "while offline"]);
      await second.offline.close();
      await second.storage.close?.();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("opening conversations keeps the cache within its byte budget", async () => {
    const { offline, storage } = setup({ cacheBudgetBytes: 4000 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const conv = await direct.conversations.create({ items: [{ role: "user", content: "x".repeat(900) }] });
      ids.push(conv.id);
      await offline.open(conv.id);
    }
    const cached = await offline.cachedIds();
    assert.ok(cached.length >= 2 && cached.length < 5, `evicted some: ${cached.length}`);
    assert.equal(cached[0], ids[4], "the newest is kept, most recent first");
    assert.equal(await offline.view(ids[0] as string), undefined, "the oldest went first");
    const stored = (await storage.keys("c/")).length;
    assert.equal(stored, cached.length, "evicted records are deleted from storage, not just the index");
    await offline.close();
  });

  test("logout revokes on the server and wipes the cache and the queue", async () => {
    const { pair, net, client } = await signedInFlaky("zoe");
    const storage = createMemoryStorage();
    const offline = createOfflineClient({ client, storage, retryDelayMs: 0, events: null });
    const id = (await offline.create()).conversation.id;
    net.mode = "down";
    await offline.append(id, user("never sent"));
    net.mode = "up";
    await new Promise((resolve) => setTimeout(resolve, 5));
    await offline.logout();
    assert.deepEqual(await storage.keys(""), []);
    assert.deepEqual(await offline.cachedIds(), []);
    assert.equal((await offline.pending()).length, 0);
    assert.equal(client.auth.tokens.accessToken, null);
    const reuse = await fetch(`${server.baseUrl}/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: pair.refreshToken }),
    });
    assert.equal(reuse.status, 401);
    await offline.close();
  });

  test("the network dropping during a token refresh stops the flush as offline; the queue waits", async () => {
    const { client, refresh } = await signedInClient(server, "ivy");
    const offline = createOfflineClient({
      client,
      storage: createMemoryStorage(),
      retryDelayMs: 0,
      events: null,
    });
    const id = (await offline.create()).conversation.id;
    server.advance(3600_000);
    refresh.down = true;
    await offline.append(id, user("queued"));
    const result = await offline.flush();
    assert.equal(result.stoppedBy, "network");
    assert.equal((await offline.status()).online, false);
    assert.equal((await offline.pending(id)).length, 1);
    refresh.down = false;
    assert.equal((await offline.flush()).sent, 1);
    assert.deepEqual(texts(await direct.items.listAll(id)), ["queued"]);
    await offline.close();
  });

  test("a refused refresh stops retries and reports authRequired until new tokens are set, then resumes", async () => {
    const { pair, net, client } = await signedInFlaky("uma");
    const offline = createOfflineClient({
      client,
      storage: createMemoryStorage(),
      retryDelayMs: 2,
      events: null,
    });
    const seen: boolean[] = [];
    offline.subscribe((status) => seen.push(status.authRequired));
    const id = (await offline.create()).conversation.id;
    // Another device spent the refresh token: the client's copy is refused (the sign-in is over).
    const spent = await fetch(`${server.baseUrl}/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: pair.refreshToken }),
    });
    assert.equal(spent.status, 200);
    server.advance(3600_000);
    await offline.append(id, user("after the sign-in ended"));
    const result = await offline.flush();
    assert.equal(result.stoppedBy, "auth");
    assert.equal(client.auth.tokens.accessToken, null);
    assert.deepEqual(await offline.status(), { online: true, pending: 1, failed: 0, authRequired: true });
    const requests = net.log.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(net.log.length, requests, "no retries while waiting for a sign-in");
    offline.setOnline(true);
    await offline.append(id, user("still queued"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(net.log.length, requests, "neither the network event nor a new entry retries");
    assert.equal(seen.at(-1), true, "subscribers saw authRequired");

    const again = await server.security.refreshTokens.issue("default", { owner: "uma" });
    await client.auth.setTokens({ accessToken: again.accessToken, refreshToken: again.refreshToken });
    for (let i = 0; i < 200 && (await offline.status()).pending > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(await offline.status(), { online: true, pending: 0, failed: 0, authRequired: false });
    assert.deepEqual(texts(await direct.items.listAll(id)), ["after the sign-in ended", "still queued"]);
    await offline.close();
  });

  test("logout while offline still wipes local data", async () => {
    const { net, offline, storage } = setup();
    const id = (await offline.create()).conversation.id;
    net.mode = "down";
    await offline.append(id, user("x"));
    await offline.logout();
    assert.deepEqual(await storage.keys(""), []);
    await offline.close();
  });
});

describe("conversation cache", () => {
  const record = (id: string, size: number) => ({
    conversation: { id, object: "conversation" as const, created_at: 0, metadata: null, version: 1 },
    items: [{ id: `${id}-i`, type: "message", role: "user", content: "y".repeat(size) }],
    version: 1,
  });

  test("LRU eviction under the budget; reads refresh recency; pinned entries stay", async () => {
    const pinned = new Set(["b"]);
    const one = JSON.stringify(record("a", 200)).length;
    const cache = new ConversationCache({
      storage: createMemoryStorage(),
      budgetBytes: 3 * one + 10,
      isPinned: (id) => pinned.has(id),
    });
    await cache.put(record("a", 200));
    await cache.put(record("b", 200));
    await cache.put(record("c", 200));
    await cache.get("a"); // a is now more recent than c
    await cache.put(record("d", 200)); // over budget: c (LRU, not pinned) goes; b is pinned
    assert.deepEqual((await cache.ids()).sort(), ["a", "b", "d"]);
    assert.ok((await cache.usedBytes()) <= 3 * one + 10);
    pinned.clear();
    await cache.put(record("e", 200)); // now b is the least recently used
    assert.deepEqual((await cache.ids()).sort(), ["a", "d", "e"]);
    assert.equal(await cache.get("b"), undefined);
  });

  test("a single conversation over the budget is still kept (the one being viewed)", async () => {
    const cache = new ConversationCache({ storage: createMemoryStorage(), budgetBytes: 100 });
    await cache.put(record("big", 500));
    assert.deepEqual(await cache.ids(), ["big"]);
    assert.throws(
      () => new ConversationCache({ storage: createMemoryStorage(), budgetBytes: 0 }),
      /budgetBytes/,
    );
  });
});
