/**
 * An append the server accepted is delivered, whatever happens to the re-read after it: a 404 or
 * 403 on reading the conversation back must neither park the entry as failed (the user would
 * resend it: a duplicate) nor keep it queued. The stale cached view is reported separately.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHoldfastClient } from "./client.ts";
import { createOfflineClient } from "./offline-client.ts";
import { createMemoryStorage } from "./storage/memory-storage.ts";
import { startTestServer, type TestServer, texts } from "./test-support.ts";

describe("flush: a delivered append whose re-read fails", () => {
  let server: TestServer;
  /** While set, reads of a conversation (head or items) are answered with this status. */
  const reads = { refuse: 0 };

  before(async () => {
    server = await startTestServer({
      extend: (app) => {
        app.addHook("onRequest", async (request, reply) => {
          if (reads.refuse === 0 || request.method !== "GET" || !request.url.includes("/conversations/"))
            return;
          const code = reads.refuse === 404 ? "not_found" : "forbidden";
          await reply.code(reads.refuse).send({
            error: { type: "invalid_request_error", code, message: "Refused read (test).", param: null },
          });
        });
      },
    });
  });
  after(() => server.close());

  for (const status of [404, 403]) {
    test(`${status} on the re-read: the entry leaves the queue as sent, and the cache is reported stale`, async () => {
      const client = createHoldfastClient({ baseUrl: server.baseUrl });
      // Created outside the offline layer, so it is not cached: the send is followed by a re-read.
      const id = (await client.conversations.create()).id;
      const offline = createOfflineClient({
        client,
        storage: createMemoryStorage(),
        retryDelayMs: 0,
        events: null,
      });
      try {
        reads.refuse = status;
        await offline.append(id, [{ role: "user", content: "hello once" }]);
        const result = await offline.flush();
        reads.refuse = 0;
        assert.deepEqual(await offline.pending(), [], "delivered: neither queued nor parked as failed");
        assert.equal(result.sent, 1);
        assert.equal(result.stoppedBy, null);
        assert.deepEqual(result.staleCache, [id]);
        assert.equal((await offline.status()).failed, 0);
        assert.deepEqual(texts(await client.items.listAll(id)), ["hello once"], "written exactly once");
        // The next open refreshes the stale view.
        assert.deepEqual(texts((await offline.open(id)).items), ["hello once"]);
      } finally {
        reads.refuse = 0;
        await offline.close();
      }
    });
  }
});
