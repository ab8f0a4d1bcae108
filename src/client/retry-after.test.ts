/**
 * A server that answers 429 or 503 with `Retry-After` is not asked again before that time — not
 * by the retry timer, nor by a new append — and the queue is sent once it has passed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHoldfastClient } from "./client.ts";
import { HoldfastApiError } from "./errors.ts";
import { parseRetryAfter } from "./http.ts";
import { createOfflineClient } from "./offline-client.ts";
import { createMemoryStorage } from "./storage/memory-storage.ts";
import { startTestServer, type TestServer, texts } from "./test-support.ts";

const user = (text: string) => [{ role: "user", content: text }];

describe("retry-after", () => {
  let server: TestServer;
  /** Appends are refused with `status` and `retry-after: 1` until `until` (epoch ms). */
  const busy = { until: 0, status: 429, attempts: [] as number[] };

  before(async () => {
    server = await startTestServer({
      extend: (app) => {
        app.addHook("onRequest", async (request, reply) => {
          if (request.method !== "POST" || !/\/items$/.test(request.url)) return;
          busy.attempts.push(Date.now());
          if (Date.now() >= busy.until) return;
          const code = busy.status === 429 ? "rate_limit_exceeded" : "unavailable";
          await reply
            .code(busy.status)
            .header("retry-after", "1")
            .send({ error: { type: "requests", code, message: "Slow down.", param: null } });
        });
      },
    });
  });
  after(() => server.close());

  for (const status of [429, 503]) {
    test(`${status}: the queue waits out retry-after, then is sent`, async () => {
      const client = createHoldfastClient({ baseUrl: server.baseUrl });
      const offline = createOfflineClient({
        client,
        storage: createMemoryStorage(),
        retryDelayMs: 50,
        events: null,
      });
      try {
        const id = (await offline.create()).conversation.id;
        busy.attempts = [];
        busy.status = status;
        busy.until = Date.now() + 1000;
        await offline.append(id, user("first"));
        await offline.flush();
        assert.equal(busy.attempts.length, 1);
        await offline.append(id, user("second")); // would send at once if the wait were ignored
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(busy.attempts.length, 1, "nothing sent before retry-after elapsed");
        const deadline = Date.now() + 5000;
        while ((await offline.pending()).length > 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        assert.deepEqual(texts(await client.items.listAll(id)), ["first", "second"]);
        const [first, second] = busy.attempts as [number, number];
        assert.ok(second - first >= 950, `the retry came ${second - first} ms after the 429`);
      } finally {
        busy.until = 0;
        await offline.close();
      }
    });
  }

  test("the error carries retryAfterMs for apps that retry themselves", async () => {
    const client = createHoldfastClient({ baseUrl: server.baseUrl });
    const id = (await client.conversations.create()).id;
    busy.status = 429;
    busy.until = Date.now() + 1000;
    await assert.rejects(client.items.create(id, user("x")), (error: unknown) => {
      assert.ok(error instanceof HoldfastApiError);
      assert.equal(error.status, 429);
      assert.equal(error.retryAfterMs, 1000);
      return true;
    });
    busy.until = 0;
  });

  test("Retry-After as seconds, as an HTTP date, or retry-after-ms", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    const at = (headers: Record<string, string>) => parseRetryAfter(new Headers(headers), now);
    assert.equal(at({ "retry-after": "2" }), 2000);
    assert.equal(at({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" }), 30_000);
    assert.equal(at({ "retry-after": "Tue, 31 Dec 2024 23:00:00 GMT" }), 0);
    assert.equal(at({ "retry-after-ms": "1500", "retry-after": "2" }), 1500);
    assert.equal(at({ "retry-after": "soon" }), null);
    assert.equal(at({}), null);
  });
});
